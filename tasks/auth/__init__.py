"""OAuth tasks: token refresh (refresh.py, the grant in grant.py) and state cleanup (cleanup.py)."""

from tasks.auth import cleanup, refresh

__all__ = ["cleanup", "refresh"]
