"""Project rules that keep docs and layout honest: settings documented, commands documented, import rules."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from bot.cli import app
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme_table() -> None:
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", README, flags=re.MULTILINE))
    assert documented == set(Settings().env_names().values())


def test_every_setting_has_help_text() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, f"setting {name} has no help text"


def _command_paths() -> list[list[str]]:
    paths: list[list[str]] = []

    def walk(command, prefix: list[str]) -> None:  # type: ignore[no-untyped-def]
        for name, sub in getattr(command, "commands", {}).items():
            paths.append([*prefix, name])
            walk(sub, [*prefix, name])

    walk(get_command(app), [])
    return paths


def test_the_design_commands_exist() -> None:
    top = {path[0] for path in _command_paths()}
    assert {"db", "campaign"} <= top


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p))
def test_every_command_has_help_and_is_in_the_readme(path: list[str]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.stdout
    assert f"crowdrank {path[0]}" in README, f"`crowdrank {path[0]}` is not documented in README.md"


FORBIDDEN = {
    "bot": {"slack_bolt", "slack_sdk", "discord", "torch", "transformers", "adapters"},
    "storage": {"slack_bolt", "slack_sdk", "discord", "torch", "transformers", "trainer", "adapters", "bot"},
    "trainer": {"bot", "adapters", "slack_bolt", "slack_sdk", "discord"},
    "adapters": {"torch", "transformers", "storage", "trainer", "sqlalchemy", "sqlmodel"},
}
# The one wiring point that knows every adapter (README "Architecture"): `crowdrank serve` builds them.
WIRING = {"bot/commands/serve.py": {"adapters"}}
SHARED = {"bot.errors"}  # the one error tree: a leaf module every layer may raise from (README "Architecture")


def _imports(path: Path) -> set[str]:
    """Top-level packages a module imports anywhere: at module level and inside functions alike."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return {module.split(".")[0] for module in modules - SHARED}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_import_only_what_they_may(package: str) -> None:
    offenders = {}
    for path in (ROOT / package).rglob("*.py"):
        name = str(path.relative_to(ROOT))
        offenders[name] = sorted(_imports(path) & FORBIDDEN[package] - WIRING.get(name, set()))
    assert {k: v for k, v in offenders.items() if v} == {}
