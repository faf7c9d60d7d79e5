"""The store's database machinery: engine and transactions, tables, column types, upsert,
housekeeping and the Alembic migrations; nothing here knows what a contact or a meeting means
(that is `tasks.store.queries`). May import: sqlalchemy, alembic."""
