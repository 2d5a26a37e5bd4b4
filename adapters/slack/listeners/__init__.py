"""One small listener per file; `register_all` is the one place that wires them onto the app."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from adapters.slack.deps import SlackDeps


def register_all(app: AsyncApp, deps: SlackDeps) -> None:
    from adapters.slack.listeners import (
        card_edit,
        command,
        deliveries,
        errors,
        flag_or_full,
        guidelines,
        home,
        join,
        next_card,
        onboarding_steps,
        prompt_full,
        rank_click,
        skip,
        submit,
    )

    for module in (errors, deliveries, rank_click, card_edit, submit, skip, flag_or_full, prompt_full,
                   guidelines, next_card, join, onboarding_steps, command, home):
        module.register(app, deps)
