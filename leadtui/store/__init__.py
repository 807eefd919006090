"""SQLite storage: the schema, migrations and every query. Nothing else writes SQL."""
