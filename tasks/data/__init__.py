"""Data pipeline tasks: export, bulk operations, deduplication and retention cleanup."""

from tasks.data import bulk, cleanup, dedup, export

__all__ = ["bulk", "cleanup", "dedup", "export"]
