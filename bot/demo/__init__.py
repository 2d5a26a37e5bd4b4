"""The bundled demo: everyday prompts written for this project, their completions from the bundled instruct model
(generated once with the demo's own sampling settings and kept here, so `make demo` does not spend half an hour of
CPU re-generating them), guidelines for helpfulness and harmlessness, and `run_demo`, the loop `crowdrank demo`
walks through."""

from __future__ import annotations

from pathlib import Path

DEMO_DATA = Path(__file__).parent
PROMPTS = DEMO_DATA / "prompts.jsonl"
COMPLETIONS = DEMO_DATA / "completions.jsonl"
GUIDELINES = {
    "helpfulness": DEMO_DATA / "guidelines-helpfulness.md",
    "harmlessness": DEMO_DATA / "guidelines-harmlessness.md",
}
