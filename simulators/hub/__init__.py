"""A faithful Snapchain hub simulator: generated signed network, per-shard event stream,
HTTP API with Snapchain shapes, faults, Hubble mode and ground truth. See README.md."""
from .faults import FaultConfig
from .generator import NetworkConfig
from .network import Network
from .server import HubServer
from .testing import running_hub

__all__ = ["FaultConfig", "HubServer", "Network", "NetworkConfig", "running_hub"]
