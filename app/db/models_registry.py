"""Imports every domain's models so Base.metadata is complete (Alembic autogenerate, tests)."""
from app.analysis import models as _analysis  # noqa: F401
from app.catalogue import models as _catalogue  # noqa: F401
from app.dashboard import models as _dashboard  # noqa: F401
from app.db.base import Base
from app.farcaster import models as _farcaster  # noqa: F401
from app.jobs import models as _jobs  # noqa: F401
from app.platform import lease_models as _leases  # noqa: F401

metadata = Base.metadata
