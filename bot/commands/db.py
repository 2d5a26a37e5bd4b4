"""`crowdrank db upgrade`: create or upgrade the schema."""

from __future__ import annotations

import typer

from bot.settings import get_settings


def register(app: typer.Typer) -> None:
    from bot.cli import new_app

    db = new_app("Database schema.")
    app.add_typer(db, name="db")

    @db.command("upgrade")
    def upgrade_command() -> None:
        """Create or upgrade the database schema (safe to run twice)."""
        from storage.migrate import current_revision, upgrade

        settings = get_settings()
        settings.home.mkdir(parents=True, exist_ok=True)
        url = settings.resolved_database_url
        upgrade(url)
        typer.echo(f"database at revision {current_revision(url)}")
