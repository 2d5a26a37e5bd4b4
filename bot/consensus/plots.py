"""The report's figures as base64 PNG strings, so report.html is one self-contained file.

matplotlib is imported inside `_figure` (Agg backend, no display): importing the consensus package stays cheap.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from bot.consensus.analysis import Analysis

__all__ = ["figures"]


def _figure(draw: Callable[[Any, Any], None], size: tuple[float, float] = (7.0, 3.6)) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    fig, ax = pyplot.subplots(figsize=size, dpi=100)
    try:
        draw(fig, ax)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    finally:
        pyplot.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _regions(analysis: Analysis) -> str | None:
    summary = analysis.summary
    names = list(summary["regions"])
    if not names:
        return None
    values = [summary["regions"][n]["pairwise_agreement"] for n in names]
    cis = [summary["regions"][n]["pairwise_agreement_ci"] for n in names]

    def draw(fig: Any, ax: Any) -> None:
        x = np.arange(len(names))
        v = np.array([np.nan if a is None else a for a in values], dtype=float)
        low = np.array([np.nan if c[0] is None else c[0] for c in cis], dtype=float)
        high = np.array([np.nan if c[1] is None else c[1] for c in cis], dtype=float)
        ax.bar(x, np.nan_to_num(v), color="#4c78a8")
        ax.errorbar(x, v, yerr=[np.nan_to_num(v - low), np.nan_to_num(high - v)], fmt="none", ecolor="black",
                    capsize=4)
        if summary["pairwise_agreement"] is not None:
            ax.axhline(summary["pairwise_agreement"], color="#e45756", linestyle="--", label="all regions")
            ax.legend(loc="lower right")
        for position in x[np.isnan(v)]:
            ax.text(position, 0.02, "no pairs", ha="center", color="grey")
        ax.set_xticks(x, names, rotation=20, ha="right")
        ax.set_ylim(0, 1)
        ax.set_ylabel("pairwise agreement")
        ax.set_title("Agreement within each region (95% bootstrap interval)")

    return _figure(draw)


def _matrix(analysis: Analysis) -> str | None:
    names = list(analysis.matrix.names)
    if not names:
        return None

    def draw(fig: Any, ax: Any) -> None:
        data = analysis.matrix.agreement
        image = ax.imshow(np.ma.masked_invalid(data), cmap="viridis", vmin=np.nanmin(data) if np.isfinite(
            data).any() else 0, vmax=np.nanmax(data) if np.isfinite(data).any() else 1)
        for i in range(len(names)):
            for j in range(len(names)):
                missing = np.isnan(data[i, j])
                ax.text(j, i, "n/a" if missing else f"{data[i, j]:.2f}", ha="center", va="center",
                        color="grey" if missing else "white", fontsize=8)
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
        ax.set_yticks(range(len(names)), names)
        ax.set_title("Pairwise agreement between regions (diagonal: within)")
        fig.colorbar(image, ax=ax)

    return _figure(draw, (6.5, 5.0))


def _timeline(analysis: Analysis) -> str | None:
    line = analysis.timeline
    if len(line["start"]) < 2:
        return None

    def draw(fig: Any, ax: Any) -> None:
        when = [datetime.fromtimestamp(t, UTC) for t in line["start"]]
        ax.plot(when, line["agreement"], marker="o")
        ax.set_ylim(0, 1)
        ax.set_ylabel("agreement with others")
        ax.set_title("Agreement over time (equal-count bins of submitted rankings)")
        fig.autofmt_xdate()

    return _figure(draw)


def _trust(analysis: Analysis) -> str | None:
    trust = analysis.labelers["trust"]
    tau = analysis.labelers["loo_tau"]
    if np.isnan(trust).all() and np.isnan(tau).all():
        return None

    def draw(fig: Any, ax: Any) -> None:
        if not np.isnan(trust).all():
            ax.hist(trust[~np.isnan(trust)], bins=20, range=(0, 1), alpha=0.7, label="trust score")
        if not np.isnan(tau).all():
            ax.hist(tau[~np.isnan(tau)], bins=20, range=(-1, 1), alpha=0.5, label="tau with leave-one-out consensus")
        ax.set_xlabel("value")
        ax.set_ylabel("labelers")
        ax.legend()
        ax.set_title("Labeler trust and agreement")

    return _figure(draw)


def figures(analysis: Analysis) -> dict[str, str]:
    """name -> base64 PNG, for the figures that have data."""
    made = {"regions": _regions(analysis), "matrix": _matrix(analysis), "timeline": _timeline(analysis),
            "trust": _trust(analysis)}
    return {name: png for name, png in made.items() if png is not None}
