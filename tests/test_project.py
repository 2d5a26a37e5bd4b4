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
    "bot": {"slack_bolt", "slack_sdk", "discord", "torch", "transformers"},
    "storage": {"slack_bolt", "slack_sdk", "discord", "torch", "transformers", "trainer", "adapters"},
    "trainer": {"bot", "adapters", "slack_bolt", "slack_sdk", "discord"},
    "adapters": {"torch", "transformers", "storage", "sqlalchemy", "sqlmodel"},
}


SHARED = {"bot.errors"}  # the one error tree: a leaf module every layer may raise from


def _module_level_imports(path: Path) -> set[str]:
    """Top-level packages imported at module level (imports inside functions are deliberate and lazy)."""
    modules: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return {module.split(".")[0] for module in modules - SHARED}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_import_only_what_they_may(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_module_level_imports(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
