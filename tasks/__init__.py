"""The AIR task catalogue. Importing this package registers every task (imports: [tasks])."""

from tasks import auth, debug, integrations, notify

__all__ = ["auth", "debug", "integrations", "notify"]
