"""Rewrite the initial migration from the models (only while no release has shipped a schema).

    .venv/bin/python -m storage.migrations.regenerate
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from storage.migrate import MIGRATIONS, alembic_config

INITIAL = MIGRATIONS / "versions" / "0001_initial.py"


def main() -> None:
    INITIAL.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        config = alembic_config(f"sqlite:///{Path(tmp) / 'empty.db'}")
        command.revision(config, message="initial schema", autogenerate=True, rev_id="0001")
    produced = next((MIGRATIONS / "versions").glob("0001_*.py"))
    produced.rename(INITIAL)
    print(f"wrote {INITIAL}")


if __name__ == "__main__":
    main()
