"""The bundled demo: everyday prompts written for this project, guidelines for helpfulness and harmlessness,
and `run_demo`, the loop `crowdrank demo` walks through."""

from __future__ import annotations

from pathlib import Path

DEMO_DATA = Path(__file__).parent
PROMPTS = DEMO_DATA / "prompts.jsonl"
GUIDELINES = {
    "helpfulness": DEMO_DATA / "guidelines-helpfulness.md",
    "harmlessness": DEMO_DATA / "guidelines-harmlessness.md",
}
