"""The one error tree of crowdrank.

    CrowdrankError          every error carries the one line a user should read
    ├── InputError          bad input file or argument (CLI exit code 2)
    ├── NotFound            no such campaign, assignment, model version …
    ├── NotAllowed          the caller may not do this (someone else's card, not a manager)
    ├── StateError          valid request at the wrong time (submit twice, click after expiry, paused campaign)
    │   └── Duplicate       a delivery already applied (a platform re-sent a click): nothing changes
    ├── Busy                no database connection came free in time (the pool is the limit): try again
    └── ModelError          a model could not be loaded or used (missing file, would need a hub)

Adapters turn these into private replies, the CLI into exit code 2. An error a labeler or manager can meet keeps
its catalog template and values apart (`StateError(N_("this card is {state}"), state=...)`), so the chat layer
shows it translated, with the values escaped, and without the CLI's file/line/field prefix.
"""

from __future__ import annotations

from typing import Any


class CrowdrankError(Exception):
    """Base class: `str(error)` is the single line shown to the user (English, for the CLI and logs)."""

    def __init__(self, message: str, **values: Any) -> None:
        self.template, self.values = message, values
        super().__init__(message.format(**values) if values else message)


class InputError(CrowdrankError):
    """Bad input; `location` names file, line and field when known."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None, field: str | None = None,
                 **values: Any) -> None:
        self.file, self.line, self.field = file, line, field
        super().__init__(message, **values)
        where = ":".join(str(p) for p in (file, line) if p is not None)
        if field:
            where = f"{where} field '{field}'" if where else f"field '{field}'"
        if where:
            self.args = (f"{where}: {self.args[0]}",)


class NotFound(CrowdrankError):
    pass


class NotAllowed(CrowdrankError):
    pass


class StateError(CrowdrankError):
    pass


class Duplicate(StateError):
    pass


class NotJoined(StateError):
    """The labeler has not finished joining the campaign (consent, region or guidelines still to do)."""


class Busy(CrowdrankError):
    pass


class ModelError(CrowdrankError):
    pass
