"""The AIR task catalogue. Importing this package registers every task (imports: [tasks])."""

from tasks import auth, data, debug, integrations, notify, ops

__all__ = ["auth", "data", "debug", "integrations", "notify", "ops"]
