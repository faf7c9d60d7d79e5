"""The AIR task catalogue. Importing this package registers every task (config: imports: [tasks])."""

from tasks import debug

__all__ = ["debug"]
