"""Models (filled by the owning issue)."""
from dashboard.appdb import Base  # noqa: F401
