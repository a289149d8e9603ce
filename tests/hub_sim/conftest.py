import json
from pathlib import Path

import pytest
import requests

from simulators.hub.testing import running_hub

# Copies of the reference hub's generated samples (Snapchain and Hubble shapes, protobuf bytes, keys).
REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "hub" / "generated"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    return REFERENCE


@pytest.fixture(scope="module")
def hub():
    """A module-wide simulated hub, 150 fids, 40 blocks revealed, manual block rate; signer
    removals revoke (the pre-V14 rule), so the stream has every event kind."""
    with running_hub(num_fids=150, seed=11, revocation="revoke") as h:
        h.advance(40)
        yield h


@pytest.fixture
def hub_sim():
    """A fresh simulated hub per test (manual block rate, nothing revealed)."""
    with running_hub(num_fids=80, seed=5) as h:
        yield h


@pytest.fixture(scope="session")
def http():
    with requests.Session() as s:
        yield s


def get_json(http, hub, path, **params):
    r = http.get(hub.url + path, params=params, timeout=10)
    assert r.status_code == 200, (path, params, r.status_code, r.text[:300])
    return r.json()


def load(path: Path):
    return json.loads(path.read_text())
