"""Notification tasks: critical alerts (alerts.py) and user notifications (users.py)."""

from tasks.notify import alerts, users

__all__ = ["alerts", "users"]
