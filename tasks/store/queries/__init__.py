"""The store's per-entity reads and writes (users, contacts, interactions, meetings, ...), each
taking the caller's connection first; built on `tasks.store.db`, which never imports them."""
