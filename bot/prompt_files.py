"""Read prompt and completion files (JSONL, CSV) into plain records, refusing bad input with file, line, field.

Parsing is all-or-nothing: the whole file is read and checked before anything touches the database.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import InputError
from bot.plain_text import EXTERNAL_ID, check_name, check_text

MAX_PROMPT_CHARS = 20_000
MAX_MODEL_NAME = 500  # the completion table's column width


@dataclass(frozen=True)
class PromptRecord:
    external_id: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True)
class CompletionRecord:
    prompt_id: str
    texts: list[str]
    model: str
    line: int = 0


def text_id(text: str) -> str:
    """A stable id for a prompt given without one, so re-importing the same file finds the same prompt."""
    return "p-" + hashlib.sha1(text.strip().encode()).hexdigest()[:12]


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError("file not found", file=str(path)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read file ({exc.__class__.__name__})", file=str(path)) from exc


def jsonl_objects(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; malformed JSON or a non-object names file and line."""
    objects = []
    for number, raw in enumerate(_read_text(path).splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputError(f"malformed JSON ({exc.msg})", file=str(path), line=number) from exc
        if not isinstance(value, dict):
            raise InputError("each line must be a JSON object", file=str(path), line=number)
        objects.append((number, value))
    return objects


@contextmanager
def _at(path: Path, number: int, field: str) -> Iterator[None]:
    """A `bot.plain_text` refusal inside names file, line and field."""
    try:
        yield
    except InputError as error:
        raise InputError(str(error), file=str(path), line=number, field=field) from error


def _prompt_record(path: Path, number: int, row: dict[str, Any], meta: dict[str, Any]) -> PromptRecord:
    text = row.get("prompt")
    if text is None:
        raise InputError("missing field", file=str(path), line=number, field="prompt")
    if not isinstance(text, str) or not text.strip():
        raise InputError("empty prompt", file=str(path), line=number, field="prompt")
    with _at(path, number, "prompt"):
        check_text(text, "prompt", MAX_PROMPT_CHARS)
    raw_id = row.get("id")
    if raw_id is not None and (isinstance(raw_id, bool) or not isinstance(raw_id, str | int)
                               or not str(raw_id).strip()):
        raise InputError("id must be a non-empty string or integer", file=str(path), line=number, field="id")
    if not isinstance(meta, dict):
        raise InputError("metadata must be a JSON object", file=str(path), line=number, field="metadata")
    external_id = str(raw_id).strip() if raw_id is not None else text_id(text)
    with _at(path, number, "id"):
        check_name(external_id, "id", EXTERNAL_ID)
    return PromptRecord(external_id=external_id, text=text.strip(), meta=meta, line=number)


def read_prompts(path: Path) -> list[PromptRecord]:
    """JSONL lines `{"prompt": ..., "id"?: ..., "metadata"?: {...}}`, or CSV with a `prompt` column
    (an `id` column optional, other columns kept as metadata)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        records = _read_csv_prompts(path)
    else:
        records = [_prompt_record(path, n, row, row.get("metadata") or {}) for n, row in jsonl_objects(path)]
    if not records:
        raise InputError("no prompts in file", file=str(path))
    seen: dict[str, int] = {}
    for record in records:
        if record.external_id in seen:
            raise InputError(f"duplicate id {record.external_id!r} (first on line {seen[record.external_id]})",
                             file=str(path), line=record.line, field="id")
        seen[record.external_id] = record.line
    return records


def _read_csv_prompts(path: Path) -> list[PromptRecord]:
    reader = csv.DictReader(_read_text(path).splitlines())
    if reader.fieldnames is None or "prompt" not in reader.fieldnames:
        raise InputError("CSV header has no 'prompt' column", file=str(path), line=1, field="prompt")
    records = []
    for number, row in enumerate(reader, start=2):
        if None in row:
            raise InputError("more cells than header columns", file=str(path), line=number)
        meta = {key: value for key, value in row.items() if key not in ("prompt", "id") and value != ""}
        fields = {"prompt": row["prompt"], "id": row.get("id") or None}
        records.append(_prompt_record(path, number, fields, meta))
    return records


def read_completions(path: Path, k: int) -> list[CompletionRecord]:
    """JSONL lines `{"prompt_id": ..., "completions": ["...", ...], "model": ...}` with exactly k texts."""
    path = Path(path)
    records = []
    seen: dict[str, int] = {}
    for number, row in jsonl_objects(path):
        for name in ("prompt_id", "completions"):
            if name not in row:
                raise InputError("missing field", file=str(path), line=number, field=name)
        prompt_id = str(row["prompt_id"]).strip()
        with _at(path, number, "prompt_id"):
            check_name(prompt_id, "prompt id", EXTERNAL_ID)
        texts = row["completions"]
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise InputError("must be a list of strings", file=str(path), line=number, field="completions")
        for text in texts:
            with _at(path, number, "completions"):
                check_text(text, "completion", MAX_PROMPT_CHARS)
        if len(texts) != k:
            raise InputError(f"expected {k} completions, got {len(texts)}", file=str(path), line=number,
                             field="completions")
        if any(not t.strip() for t in texts):
            raise InputError("empty completion", file=str(path), line=number, field="completions")
        if len({t.strip() for t in texts}) != len(texts):
            raise InputError("identical completions", file=str(path), line=number, field="completions")
        model = row.get("model", "imported")
        if not isinstance(model, str) or not model.strip():
            raise InputError("must be a non-empty string", file=str(path), line=number, field="model")
        with _at(path, number, "model"):
            check_name(model.strip(), "model name", MAX_MODEL_NAME)
        if prompt_id in seen:
            raise InputError(f"duplicate prompt_id {prompt_id!r} (first on line {seen[prompt_id]})",
                             file=str(path), line=number, field="prompt_id")
        seen[prompt_id] = number
        records.append(CompletionRecord(prompt_id, [t.strip() for t in texts], model.strip(), number))
    if not records:
        raise InputError("no completions in file", file=str(path))
    return records
