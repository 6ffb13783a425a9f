"""Imports every app-database model so that Base.metadata knows them all."""
from dashboard.accounts import models as _accounts  # noqa: F401
from dashboard.alerts import models as _alerts  # noqa: F401
from dashboard.assessment import models as _assessment  # noqa: F401
from dashboard.exchange import models as _exchange  # noqa: F401
from dashboard.reporting import models as _reporting  # noqa: F401
