"""The one wiring point of the Slack adapter: settings → Web API client → Bolt `AsyncApp` → the conversation.

Requests reach Bolt through the guard (guard.py: size, signature, shape); Bolt's own request verification stays on
in HTTP mode for a request that comes any other way. Socket Mode needs no signing secret. Bolt answers when the
listener returns (`process_before_response`; listeners.py says why). Rate-limited Web API calls are retried after
Slack's Retry-After, more than once, so a burst never loses a card update.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import listeners
from adapters.slack.announcer import SlackAnnouncer
from adapters.slack.mrkdwn import CUT_AT
from bot.chat.conversation import Conversation
from bot.chat.long_jobs import LongJobs
from bot.chat.people import Managers
from bot.chat.views import Limits
from bot.database import Database
from bot.errors import InputError
from bot.jobs.context import JobContext
from bot.settings import Settings

RATE_LIMIT_RETRIES = 5


@dataclass
class SlackBot:
    """What `build_app` made besides the app; `close()` when the app stops."""

    conversation: Conversation
    announcer: SlackAnnouncer
    jobs: LongJobs
    deliveries: listeners.Deliveries

    session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        await self.deliveries.finish()
        await self.jobs.close()
        if self.session is not None:
            await self.session.close()


def shared_session(client: AsyncWebClient) -> aiohttp.ClientSession | None:
    """One aiohttp session for every Web API call. Without it slack_sdk opens a session, and a connection (a TLS
    handshake against slack.com), for each call, so every card update paid one (bench/load.py --profile); Bolt
    hands this client's session to the client it makes per request. Needs a running loop (serve, tests)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return None
    client.session = aiohttp.ClientSession()
    return client.session


def configure_client(client: AsyncWebClient, settings: Settings) -> AsyncWebClient:
    """Point the Web API client at SLACK_API_URL and retry 429s (Bolt copies both into every request's client)."""
    client.base_url = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES))
    return client


def standalone_announcer(settings: Settings) -> SlackAnnouncer:
    """An announcer without an app, for jobs run from the command line."""
    return SlackAnnouncer(configure_client(AsyncWebClient(token=settings.slack_bot_token), settings))


def parse_managers(value: str) -> frozenset[str]:
    return frozenset(part.strip() for part in value.split(",") if part.strip())


def build_app(settings: Settings, database: Database, jobs: LongJobs | None = None) -> tuple[AsyncApp, SlackBot]:
    """A ready Bolt app and what its listeners share (close it when the app stops)."""
    if not settings.slack_bot_token:
        raise InputError("SLACK_BOT_TOKEN is not set (see README: Slack)")
    socket_mode = bool(settings.slack_app_token)
    if not socket_mode and not settings.slack_signing_secret:
        raise InputError("SLACK_SIGNING_SECRET is not set (needed in HTTP mode; or set SLACK_APP_TOKEN for "
                         "Socket Mode)")
    app = AsyncApp(
        token=settings.slack_bot_token,  # Bolt builds the client; a client of our own makes it warn
        signing_secret=settings.slack_signing_secret or None,
        request_verification_enabled=not socket_mode,
        ignoring_self_events_enabled=True,
        process_before_response=True,
    )
    configure_client(app.client, settings)
    session = shared_session(app.client)
    announcer = SlackAnnouncer(app.client)
    jobs = jobs or LongJobs(JobContext(database, settings.home))
    jobs.context.announcers[listeners.PLATFORM] = announcer
    conversation = Conversation(database, platform=listeners.PLATFORM, limits=Limits(CUT_AT),
                                managers=Managers(user_ids=parse_managers(settings.slack_managers)), jobs=jobs,
                                channel_of=listeners.channel_of)
    deliveries = listeners.register(app, conversation)
    return app, SlackBot(conversation, announcer, jobs, deliveries, session)
