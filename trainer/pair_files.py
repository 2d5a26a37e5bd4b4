"""Pair files: the two formats (`trl`, `binary`) in JSONL or Parquet, written atomically and in batches, read
back with validation (a bad file names its file, line and field).

`trl` rows: prompt, chosen, rejected, margin, tie + provenance (item_id, ranking_id, labeler, region).
`binary` rows: prompt, completion_a, completion_b, label (1 = completion_a was chosen), margin, tie + provenance.
"""

from __future__ import annotations

import json
import math
import os
import random
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from bot.errors import InputError

FORMATS = ("trl", "binary")
SUFFIXES = (".jsonl", ".parquet")
PARQUET_BATCH_ROWS = 2048


@dataclass(frozen=True, slots=True)
class Pair:
    """One comparison: `chosen` preferred over `rejected` for `prompt` (tie: neither; kept only on request)."""

    prompt: str
    chosen: str
    rejected: str
    margin: float = 0.0
    tie: bool = False
    item_id: int | None = None
    ranking_id: int | None = None
    labeler: str | None = None
    region: str | None = None


PROVENANCE = [("item_id", pa.int64()), ("ranking_id", pa.int64()), ("labeler", pa.string()), ("region", pa.string())]
SCHEMAS = {
    "trl": pa.schema([("prompt", pa.string()), ("chosen", pa.string()), ("rejected", pa.string()),
                      ("margin", pa.float64()), ("tie", pa.bool_()), *PROVENANCE]),
    "binary": pa.schema([("prompt", pa.string()), ("completion_a", pa.string()), ("completion_b", pa.string()),
                         ("label", pa.int8()), ("margin", pa.float64()), ("tie", pa.bool_()), *PROVENANCE]),
}


def file_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"pair file must end in .jsonl or .parquet, got {path.name!r}", field="out")
    return suffix[1:]


def to_row(pair: Pair, fmt: str, rng: random.Random) -> dict[str, Any]:
    """A pair as one row of `fmt`; `binary` puts the chosen side first or second by a coin of `rng`."""
    row = asdict(pair)
    if fmt == "trl":
        return {name: row[name] for name in SCHEMAS["trl"].names}
    chosen_first = rng.random() < 0.5
    row["completion_a"], row["completion_b"] = (
        (pair.chosen, pair.rejected) if chosen_first else (pair.rejected, pair.chosen))
    row["label"] = 1 if chosen_first else 0
    return {name: row[name] for name in SCHEMAS["binary"].names}


def write_pairs(pairs: Iterable[Pair], out: Path, fmt: str = "trl", seed: int = 0) -> int:
    """Stream `pairs` into `out` (format by suffix); the file appears whole or not at all. Returns the count."""
    if fmt not in FORMATS:
        raise InputError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}", field="format")
    kind = file_kind(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    handle, temp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(handle)
    temp = Path(temp_name)
    try:
        rows = (to_row(pair, fmt, rng) for pair in pairs)
        count = _write_jsonl(rows, temp) if kind == "jsonl" else _write_parquet(rows, temp, SCHEMAS[fmt])
        os.replace(temp, out)
        return count
    finally:
        temp.unlink(missing_ok=True)


def _write_jsonl(rows: Iterator[dict[str, Any]], path: Path) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as stream:
        for row in rows:
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def _write_parquet(rows: Iterator[dict[str, Any]], path: Path, schema: pa.Schema) -> int:
    count = 0
    with pq.ParquetWriter(path, schema) as writer:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == PARQUET_BATCH_ROWS:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                count, batch = count + len(batch), []
        if batch or count == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            count += len(batch)
    return count


def read_pairs(path: Path) -> Iterator[Pair]:
    """Pairs of a `trl` or `binary` file, JSONL or Parquet, validated row by row (line = row number, from 1)."""
    name = str(path)
    if path.suffix.lower() not in SUFFIXES:
        raise InputError("pair file must end in .jsonl or .parquet", file=name)
    if not path.is_file():
        raise InputError("no such file", file=name)
    rows = _jsonl_rows(path) if path.suffix.lower() == ".jsonl" else _parquet_rows(path)
    for line, row in rows:
        yield parse_row(row, file=name, line=line)


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8", errors="strict") as stream:
        line = 0
        try:
            for line, text in enumerate(stream, start=1):
                if not text.strip():
                    continue
                try:
                    yield line, json.loads(text)
                except json.JSONDecodeError as exc:
                    raise InputError(f"not valid JSON ({exc.msg})", file=str(path), line=line) from exc
        except UnicodeDecodeError as exc:
            raise InputError("not UTF-8 text", file=str(path), line=line + 1) from exc


def _parquet_rows(path: Path) -> Iterator[tuple[int, Any]]:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"not a Parquet file ({exc.__class__.__name__})", file=str(path)) from exc
    line = 0
    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
        for row in batch.to_pylist():
            line += 1
            yield line, row


def parse_row(row: Any, *, file: str, line: int) -> Pair:
    """One validated `Pair` from a `trl` row (has `chosen`) or a `binary` row (has `completion_a`)."""
    def fail(message: str, field: str | None = None) -> InputError:
        return InputError(message, file=file, line=line, field=field)

    if not isinstance(row, dict):
        raise fail("expected a JSON object")

    def text(field: str, allow_empty: bool = False) -> str:
        if field not in row:
            raise fail("missing", field)
        value = row[field]
        if not isinstance(value, str) or (not allow_empty and not value.strip()):
            raise fail("must be a non-empty string" if not allow_empty else "must be a string", field)
        return value

    margin = row.get("margin", 0.0)
    margin = 0.0 if margin is None else margin
    if isinstance(margin, bool) or not isinstance(margin, int | float) or not math.isfinite(margin):
        raise fail("must be a finite number", "margin")
    tie = row.get("tie", False)
    tie = False if tie is None else tie
    if not isinstance(tie, bool):
        raise fail("must be true or false", "tie")
    if "chosen" in row:
        prompt, chosen, rejected = text("prompt", allow_empty=True), text("chosen"), text("rejected")
    elif "completion_a" in row:
        prompt, first, second = text("prompt", allow_empty=True), text("completion_a"), text("completion_b")
        label = row.get("label")
        if isinstance(label, bool) or label not in (0, 1):
            raise fail("must be 0 or 1", "label")
        chosen, rejected = (first, second) if label == 1 else (second, first)
    else:
        raise fail("missing (a row needs chosen/rejected or completion_a/completion_b)", "chosen")
    provenance = {}
    for field, kind in (("item_id", int), ("ranking_id", int), ("labeler", str), ("region", str)):
        value = row.get(field)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise fail(f"must be {'an integer' if kind is int else 'a string'} or null", field)
        provenance[field] = value
    return Pair(prompt=prompt, chosen=chosen, rejected=rejected, margin=float(margin), tie=tie, **provenance)
