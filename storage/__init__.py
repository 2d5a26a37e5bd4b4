"""Storage: tables, the engine and session factory (SQLite default, PostgreSQL by URL), migrations."""
