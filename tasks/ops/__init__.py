"""Operations tasks: daily analytics, database backups and maintenance."""

from tasks.ops import analytics, backup, maintenance

__all__ = ["analytics", "backup", "maintenance"]
