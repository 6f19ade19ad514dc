"""The evaluation report: everything measured, every verdict, and an HTML fragment with per-group charts.

The report names groups (it is written encrypted to the provider's reports zone and shown only on the steward
pages); the ledger entry built from it (`ledger_payload`) names groups by position only.
"""

from __future__ import annotations

from typing import Any

from pactline.charts import FAIL_COLOUR, PASS_COLOUR, RAW_COLOUR, RELEASED_COLOUR, Html, bar_chart, e, score_chart
from pactline.evaluation.metrics import Fairness, Performance
from pactline.evaluation.verdicts import Outcome


def build_report(*, purpose: str, model_type: str, model_version: str, iteration: int, max_iterations: int,
                 release: dict[str, Any], predictions: dict[str, Any], decision_threshold: float,
                 performance: Performance, fairness: list[Fairness], outcomes: list[Outcome]) -> dict[str, Any]:
    return {
        "purpose": purpose, "model_type": model_type, "model_version": model_version,
        "iteration": iteration, "max_iterations": max_iterations,
        "release": release, "predictions": predictions, "decision_threshold": decision_threshold,
        "performance": performance.to_dict(),
        "fairness": [f.to_dict() for f in fairness],
        "outcomes": [o.to_dict() for o in outcomes],
        "failed": [o.describe(with_groups=True) for o in outcomes if not o.passed],
        "passed": all(o.passed for o in outcomes),
    }


def ledger_payload(report: dict[str, Any], outcomes: list[Outcome]) -> dict[str, Any]:
    """model.evaluated: every metric and verdict, groups by position (their sizes and rates, never their names)."""
    fairness = [{**{k: v for k, v in f.items() if k != "groups"},
                 "groups": [{"position": i, **{k: v for k, v in g.items() if k != "group"}}
                            for i, g in enumerate(f["groups"], 1)]} for f in report["fairness"]]
    return {k: report[k] for k in ("purpose", "model_type", "model_version", "iteration", "max_iterations",
                                   "release", "predictions", "decision_threshold", "performance", "passed")} | {
        "fairness": fairness, "outcomes": [o.public() for o in outcomes],
        "failed": [o.describe() for o in outcomes if not o.passed]}


def render_html(report: dict[str, Any], label_bias: dict[str, dict[str, float | None]] | None = None) -> Html:
    """The report as a page fragment: verdict, performance against targets, and per protected attribute the
    model's selection rate, TPR and FPR per group (with the label's positive rate in the released training data
    beside them when `label_bias` gives it: attribute -> group -> rate)."""
    ok = report["passed"]
    parts = [f'<p class="verdict" style="color:{PASS_COLOUR if ok else FAIL_COLOUR}"><strong>'
             f'{"passed" if ok else "failed"}</strong>: model {e(report["model_type"])} version '
             f'{e(report["model_version"])}, iteration {e(report["iteration"])} of {e(report["max_iterations"])}, '
             f'{e(report["performance"]["rows"])} holdout rows</p>']
    if report["failed"]:
        parts.append("<ul class='failed'>" + "".join(f"<li>{e(x)}</li>" for x in report["failed"]) + "</ul>")
    perf = [o for o in report["outcomes"] if o["attribute"] is None]
    if perf:
        parts.append(score_chart("performance against targets", [
            (o["rule"], o["observed"], o["threshold"], ">=" if o["rule"].startswith("min_") else "<=") for o in perf]))
    for f in report["fairness"]:
        groups = [f"#{i} {g['group']}" + ("" if g["gated"] else " (not gated)") for i, g in enumerate(f["groups"], 1)]
        series = []
        if label_bias and f["attribute"] in label_bias:
            released = label_bias[f["attribute"]]
            series.append(("label rate, training release", RAW_COLOUR, [released.get(g["group"]) for g in f["groups"]]))
        series += [("label rate, holdout", "#6b4fa0", [g["base_rate"] for g in f["groups"]]),
                   ("model selection rate", RELEASED_COLOUR, [g["selection_rate"] for g in f["groups"]])]
        parts.append(f"<h3>{e(f['attribute'])}</h3>")
        parts.append(bar_chart(f"label and model positive rates per {f['attribute']} group", groups, series,
                               max_value=1.0, width=760))
        parts.append(bar_chart(f"error rates per {f['attribute']} group", groups,
                               [("TPR", PASS_COLOUR, [g["tpr"] for g in f["groups"]]),
                                ("FPR", FAIL_COLOUR, [g["fpr"] for g in f["groups"]])], max_value=1.0, width=760))
        rows = "".join(f"<tr><td>{e(o['rule'])}</td><td>{e(_num(o['observed']))}</td><td>{e(o['threshold'])}</td>"
                       f"<td>{'pass' if o['passed'] else 'FAIL'}</td></tr>"
                       for o in report["outcomes"] if o["attribute"] == f["attribute"])
        parts.append(f"<table class='gates'><tr><th>rule</th><th>observed</th><th>threshold</th><th></th></tr>"
                     f"{rows}</table>")
    return Html("".join(parts))


def _num(value: Any) -> str:
    return "not measurable" if value is None else f"{value:.4g}"
