"""The store's machinery, knowing no entity: engine, tables, column types, upsert, migrations."""
