"""The one error tree of crowdrank.

    CrowdrankError          every error carries the one line a user should read
    ├── InputError          bad input file or argument (CLI exit code 2)
    ├── NotFound            no such campaign, assignment, model version …
    ├── NotAllowed          the caller may not do this (someone else's card, not a manager)
    ├── StateError          valid request at the wrong time (submit twice, click after expiry, paused campaign)
    └── ModelError          a model could not be loaded or used (missing file, would need a hub)

Adapters turn these into ephemeral replies, the CLI into exit code 2.
"""

from __future__ import annotations


class CrowdrankError(Exception):
    """Base class: `str(error)` is the single line shown to the user."""


class InputError(CrowdrankError):
    """Bad input; `location` names file, line and field when known."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None, field: str | None = None):
        self.file, self.line, self.field = file, line, field
        where = ":".join(str(p) for p in (file, line) if p is not None)
        if field:
            where = f"{where} field '{field}'" if where else f"field '{field}'"
        super().__init__(f"{where}: {message}" if where else message)


class NotFound(CrowdrankError):
    pass


class NotAllowed(CrowdrankError):
    pass


class StateError(CrowdrankError):
    pass


class ModelError(CrowdrankError):
    pass
