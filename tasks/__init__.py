"""The AIR task catalogue. Importing this package registers every task (imports: [tasks])."""

from tasks import ai, auth, contacts, data, debug, integrations, notify, ops, startup, sync

__all__ = [
    "ai", "auth", "contacts", "data", "debug", "integrations", "notify", "ops", "startup", "sync",
]
