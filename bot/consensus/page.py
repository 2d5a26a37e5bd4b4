"""report.html: one self-contained page (inline CSS, figures as base64 PNG). Every text from the database —
prompts, completions, region and labeler names — goes through `html.escape`."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import numpy as np

from bot.consensus.analysis import Analysis

__all__ = ["render_page"]

STYLE = """body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;
vertical-align:top}th{background:#f3f3f3}img{max-width:100%}.text{white-space:pre-wrap;max-height:12em;
overflow:auto;font-size:.9em}.note{color:#555;font-size:.9em}h2{margin-top:2em;border-bottom:1px solid #ddd}"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _num(value: object, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}" if isinstance(value, float) else _e(value)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _ci(pair: list | None) -> str:
    if not pair or pair[0] is None:
        return "n/a"
    return f"[{pair[0]:.3f}, {pair[1]:.3f}]"


def _img(figures: dict[str, str], name: str) -> str:
    if name not in figures:
        return '<p class="note">Not enough data for this figure.</p>'
    return f'<img alt="{_e(name)}" src="data:image/png;base64,{figures[name]}">'


def _summary(s: dict) -> str:
    rows = [("Items ranked", f"{s['items_ranked']} of {s['items']}", ""), ("Rankings", s["rankings"], ""),
            ("Labelers", s["labelers"], ""),
            ("Pairwise agreement", _num(s["pairwise_agreement"]), _ci(s["pairwise_agreement_ci"])),
            ("Kendall's W (mean per item)", _num(s["kendall_w"]), _ci(s["kendall_w_ci"])),
            ("Krippendorff's alpha, ordinal", _num(s["krippendorff_alpha"]), _ci(s["krippendorff_alpha_ci"])),
            ("Krippendorff's alpha, interval", _num(s["krippendorff_alpha_interval"]),
             _ci(s["krippendorff_alpha_interval_ci"])),
            ("Tau-b with leave-one-out consensus", _num(s["loo_tau"]), _ci(s["loo_tau_ci"]))]
    body = "".join(f"<tr><td>{_e(a)}</td><td>{_e(b)}</td><td>{_e(c)}</td></tr>" for a, b, c in rows)
    return f"<table><tr><th>measure</th><th>value</th><th>95% interval</th></tr>{body}</table>"


def _regions(s: dict) -> str:
    names = list(s["regions"])
    if not names:
        return '<p class="note">The campaign has no regions.</p>'
    head = "".join(f"<th>{_e(n)}</th>" for n in names)
    rows = []
    for name in names:
        r = s["regions"][name]
        cells = "".join(f"<td>{_num(s['region_matrix'][name][other])}</td>" for other in names)
        rows.append(f"<tr><td>{_e(name)}</td><td>{r['rankings']}</td><td>{r['labelers']}</td><td>{r['items']}</td>"
                    f"<td>{_num(r['pairwise_agreement'])} {_ci(r['pairwise_agreement_ci'])}</td>"
                    f"<td>{_num(r['tau_with_global'])}</td><td>{_num(r['borrowing_weight'])}</td>{cells}</tr>")
    return (f"<table><tr><th>region</th><th>rankings</th><th>labelers</th><th>items</th><th>agreement within</th>"
            f"<th>tau with global consensus</th><th>weight borrowed</th>{head}</tr>{''.join(rows)}</table>"
            "<p class=\"note\">The last columns are the region × region agreement matrix (diagonal: within).</p>"
            f"{_between_note(s['region_matrix_between_from_first'])}"
            "<p class=\"note\">Weight borrowed: in the region's pooled consensus (<code>bradley_terry_pooled</code> in "
            "the consensus table), what one ranking from another region counts against 1 for the region's own, "
            "chosen as the weight that best predicts each of the region's rankings from the rest. 0: the region's "
            "taste is its own; the region's other orders use its rankings alone.</p>"
            f"<p class=\"note\">Rankings without a region: {s['rankings_without_region']}. A region with few rankings "
            "has a wide interval; n/a means no pair of rankings to compare.</p>")


def _between_note(first: int | None) -> str:
    if first is None:
        return ""
    return (f"<p class=\"note\">Between two regions: each item's first {first} rankings only, which adaptive votes "
            "collect whatever they say; a later ranking exists because the earlier ones disagreed, and counting it "
            "would understate how far regions agree.</p>")


def _contested(analysis: Analysis, texts: dict[int, tuple[str, dict[int, str]]]) -> str:
    rankings, contest = analysis.rankings, analysis.contest
    if len(analysis.contested) == 0:
        return '<p class="note">No item has rankings from two or more regions yet.</p>'
    parts = []
    for i in analysis.contested:
        item_id = rankings.item_ids[i]
        prompt, completion_text = texts.get(int(item_id), ("", {}))
        ids = rankings.completion_ids[i]
        letters = {int(c): chr(65 + j) for j, c in enumerate(ids)}
        orders = []
        for name in rankings.region_names:
            orders_of = analysis.consensus.get((name, "borda"))
            if orders_of is None or orders_of.n[i] == 0:
                continue
            order = " > ".join(letters[int(ids[j])] for j in orders_of.order[i])
            orders.append(f"<li>{_e(name)} ({int(orders_of.n[i])} votes): {_e(order)}</li>")
        overall = analysis.consensus.get(("all", "borda"))
        if overall is not None:
            orders.append("<li><b>all</b>: " + _e(" > ".join(letters[int(ids[j])] for j in overall.order[i]))
                          + "</li>")
        completions = "".join(f"<tr><td>{letters[int(c)]}</td><td><div class=\"text\">"
                              f"{_e(completion_text.get(int(c), ''))}</div></td></tr>" for c in ids)
        parts.append(
            f"<h3>Item {_e(item_id)} — contest score {_num(float(contest.score[i]))} (between-region disagreement "
            f"{_num(float(contest.between[i]))})</h3><div class=\"text\">{_e(prompt)}</div>"
            f"<ul>{''.join(orders)}</ul><table>{completions}</table>")
    return "".join(parts)


def _truth(s: dict) -> str:
    truth = s.get("truth")
    if not truth:
        return ""
    rows = "".join(f"<tr><td>{_e(m)}</td><td>{_num(r['mean_tau'])}</td><td>{_num(r['exact_share'])}</td>"
                   f"<td>{r['items']}</td></tr>" for m, r in truth["recovery"].items())
    regional = "".join(f"<tr><td>{_e(region)}</td><td>{_num(r['mean_tau'])}; pooled {_num(r['pooled_mean_tau'])}"
                       f"</td><td></td><td>{r['items']}</td></tr>"
                       for region, r in truth.get("region_recovery", {}).items())
    if regional:
        rows += ("<tr><th colspan=\"4\">each region's Bradley-Terry consensus against its own true order: from its "
                 "own rankings; pooled</th></tr>")
        rows += regional
    sp, co = truth["spammers"], truth["contested"]
    return (f"<h2>Simulated crowd: recovery of the hidden truth</h2><table><tr><th>aggregation</th><th>mean tau with "
            f"true order</th><th>share exactly right</th><th>items</th></tr>{rows}</table>"
            f"<p>Trust below {sp['threshold']} flags {sp['flagged']} of {sp['with_trust']} labelers with a trust "
            f"score; the crowd has {sp['spammers']} spammers. Precision {_num(sp['precision'])}, recall "
            f"{_num(sp['recall'])}.</p><p>Contested items: {co['found_in_top']} of the top {co['top_n']} are among "
            f"the {co['planted']} the simulator planted (precision {_num(co['precision'])}, chance "
            f"{_num(co['chance'])}); a planted item outscores an unplanted one with probability {_num(co['auc'])}.</p>")


def _adaptive(adaptive: dict | None) -> str:
    """How many items stopped before the maximum, and why (adaptive votes only)."""
    if not adaptive:
        return ""
    why = "".join(f"<li>{count}: {_e(reason)}</li>" for reason, count in adaptive["stopped_early_why"].items())
    return (f"<h2>Adaptive votes</h2><p>{adaptive['votes_min']} to {adaptive['votes_max']} rankings per item: "
            f"{adaptive['items_stopped_early']} items stopped early with {adaptive['rankings_of_items_stopped_early']}"
            f" rankings between them, {adaptive['items_at_max']} reached the maximum, "
            f"{adaptive['items_contested']} are contested between regions.</p><ul>{why}</ul>"
            "<p class=\"note\">Agreement within a region rests on items with two rankings or more from it. Under "
            "adaptive votes those are the items whose first rankings left them unsettled, the harder ones, so it "
            "reads lower than the same crowd would show over every item, and than a fixed-votes campaign would "
            "report.</p>")


def render_page(campaign: str, analysis: Analysis, figures: dict[str, str],
                texts: dict[int, tuple[str, dict[int, str]]], adaptive: dict | None = None) -> str:
    s = analysis.summary
    bias = s["position_bias"]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>crowdrank report: {_e(campaign)}</title>
<style>{STYLE}</style></head><body>
<h1>Consensus report: {_e(campaign)}</h1><p class="note">Generated {when}. Ties take their average rank; in pairwise
agreement a tie agrees only with a tie. Intervals: {s['bootstrap']['resamples']} bootstrap resamples of items.</p>
<h2>Summary</h2>{_summary(s)}{_adaptive(adaptive)}
<h2>Regions</h2>{_img(figures, 'regions')}{_regions(s)}{_img(figures, 'matrix')}
<h2>Agreement over time</h2>{_img(figures, 'timeline')}
<h2>Labelers</h2>{_img(figures, 'trust')}
<h2>Position bias</h2><p>The completion shown first was ranked first in {_pct(bias['first_shown_ranked_first'])}
(95% interval {_pct(bias['ci'][0])} to {_pct(bias['ci'][1])}) of {bias['rankings']} rankings with a stored shown
order; chance is {_pct(bias['chance'])}.</p>
{_truth(s)}
<h2>Contested items</h2><p class="note">Items where labelers from different regions disagree most, beyond how much
labelers of one region disagree. Orders per region are Borda consensus orders.</p>{_contested(analysis, texts)}
</body></html>
"""
