"""The store's per-entity reads and writes; built on `tasks.store.db`, never imported by it."""
