"""One settings object, read from the environment and a `.env` file.

Declared as data (name, default, help) so the README table can be checked against it by a test.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    home: Path = Field(
        default=Path(".crowdrank"),
        validation_alias=AliasChoices("CROWDRANK_HOME"),
        description="Data folder: database, model cache, reward models, reports.",
    )
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CROWDRANK_DATABASE_URL"),
        description="SQLAlchemy URL; default a SQLite file under CROWDRANK_HOME.",
    )
    db_pool: int | None = Field(
        default=None,
        ge=1,
        validation_alias=AliasChoices("CROWDRANK_DB_POOL"),
        description="PostgreSQL connections per `crowdrank serve` process; default derived from the server's "
                    "max_connections and CROWDRANK_SERVE_PROCESSES (at most 10).",
    )
    serve_processes: int = Field(
        default=1,
        ge=1,
        validation_alias=AliasChoices("CROWDRANK_SERVE_PROCESSES"),
        description="How many `crowdrank serve` processes share one PostgreSQL database: their pools together "
                    "stay under its max_connections.",
    )
    slack_bot_token: str | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN"), description="Slack bot token (xoxb-…)."
    )
    slack_signing_secret: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET"),
        description="Slack signing secret, verifies requests in HTTP mode.",
    )
    slack_app_token: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_APP_TOKEN"),
        description="Slack app-level token (xapp-…): Socket Mode instead of HTTP.",
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        validation_alias=AliasChoices("SLACK_API_URL"),
        description="Slack Web API base URL (tests, proxies).",
    )
    slack_managers: str = Field(
        default="",
        validation_alias=AliasChoices("CROWDRANK_SLACK_MANAGERS"),
        description="Comma-separated Slack user ids allowed to run manager commands (workspace admins always are).",
    )
    discord_token: str | None = Field(
        default=None, validation_alias=AliasChoices("DISCORD_TOKEN"), description="Discord bot token."
    )
    discord_api_base: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DISCORD_API_BASE"),
        description="Discord REST base URL (tests, proxies); default discord.py's own.",
    )
    discord_gateway_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DISCORD_GATEWAY_URL"),
        description="Discord gateway URL (tests, proxies); default discord.py's own.",
    )
    discord_manager_role: str = Field(
        default="crowdrank-manager",
        validation_alias=AliasChoices("CROWDRANK_DISCORD_MANAGER_ROLE"),
        description="Name or id of the Discord role allowed to run manager commands (Manage Server always is).",
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'crowdrank.db').resolve()}"

    def env_names(self) -> dict[str, str]:
        """Map of field name to the environment variable that sets it."""
        names = {}
        for name, field in type(self).model_fields.items():
            assert isinstance(field.validation_alias, AliasChoices)  # every field declares its variable names
            names[name] = str(field.validation_alias.choices[0])
        return names


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
