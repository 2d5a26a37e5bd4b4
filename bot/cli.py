"""`crowdrank`: the command line. Commands live one group per module in `bot/commands/` and are registered here.

Every `CrowdrankError` becomes one line on stderr and exit code 2; anything else is a bug and shows a traceback.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from bot.errors import CrowdrankError

# Before any command loads torch (and OpenMP): idle OpenMP threads that spin made training steps about 4x and
# generation several times slower whenever another process shared the two cores.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


class CrowdrankGroup(TyperGroup):
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CrowdrankError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(2) from error


def new_app(help: str) -> typer.Typer:
    """A Typer app (or sub-app) that reports `CrowdrankError` as one line and exit code 2."""
    return typer.Typer(cls=CrowdrankGroup, help=help, no_args_is_help=True, add_completion=False)


app = new_app("crowdrank: crowd ranking for RLHF in Slack and Discord.")


def _register() -> None:
    from bot.commands import campaign, db, demo, generate

    for module in (db, campaign, generate, demo):
        module.register(app)

    from bot.commands import pairs, score, train

    for module in (pairs, train, score):
        module.register(app)

    from bot.commands import report

    report.register(app)

    from bot.commands import gold, labeler, simulate

    for module in (labeler, gold, simulate):
        module.register(app)

    from bot.commands import serve

    serve.register(app)


_register()


def main() -> None:
    sys.exit(app())  # pragma: no cover


if __name__ == "__main__":  # `python -m bot.cli`, e.g. under `accelerate launch -m bot.cli train ...`
    main()
