"""The steward's view of the post-training audit (issue 15): one model version's evaluation report with per-group
charts, the model versions of each purpose with their status (Agreements page), and, on a run's review, the label's
bias in the released training data beside each evaluated model's bias on that run's holdout.

Group names appear here (the steward pages show the encrypted reports' contents to users who may read the DAG);
the ledger names groups by position only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pactline.agreement import LoadedAgreement
from pactline.charts import e
from pactline.evaluation.history import EVALUATED, ModelVersion
from pactline.evaluation.metrics import label_rates
from pactline.evaluation.report import render_html
from pactline.store import layout
from pactline.ui.html import Html, a, badge, code, fmt, section, table, url, when

STATUS = {"promoted": (True, "PROMOTED"), "passed": (None, "PASSED, AWAITING A STEWARD"), "failed": (False, "FAILED"),
          "rejected": (False, "REJECTED")}


def evaluation_entry(ledger: Any, agreement_id: str, purpose: str, model_version: str) -> Any | None:
    found = [x for x in ledger.entries(agreement_id=agreement_id, event=EVALUATED)
             if x.payload.get("purpose") == purpose and x.payload.get("model_version") == model_version]
    return found[-1] if found else None


def holdout_split(root: Any, agreement_id: str, release: dict[str, Any]) -> dict[str, Any] | None:
    """The split (and run) that made the evaluated holdout release, from its manifest; None once it is gone."""
    rel = layout.manifest(layout.shared(agreement_id, release["output"], release["version"]))
    try:
        manifest = root.read_json(rel)
    except Exception:
        return None
    split = (manifest.get("steps") or {}).get("split_holdout")
    return {**split, "run_id": manifest["run"]["run_id"]} if split else None


def training_bias(root: Any, loaded: LoadedAgreement, report: dict[str, Any]) -> dict[str, dict[str, float]] | None:
    """Per protected attribute of the evaluation, the label's positive rate per group in the training rows released
    beside the holdout (the split's training table); None once the run's staging is purged."""
    m = loaded.agreement.evaluation_for(report["purpose"])
    split = holdout_split(root, loaded.id, report["release"])
    if m is None or split is None:
        return None
    try:
        table = root.read_table(split["staging"], columns=[m.label, *[f.protected_attribute for f in m.fairness]])
    except Exception:
        return None
    labels = table[m.label].to_pylist()
    return {f.protected_attribute: label_rates(labels, table[f.protected_attribute].to_pylist(), m.positive)
            for f in m.fairness}


def render_evaluation(report: dict[str, Any], *, bias: dict[str, dict[str, float]] | None, status: str,
                      base: str, agreement_id: str) -> Html:
    ok, label = STATUS.get(status, (None, status.upper()))
    perf = report["performance"]
    facts = (f'<dl class="facts"><dt>purpose</dt><dd><code>{e(report["purpose"])}</code></dd>'
             f'<dt>model</dt><dd>{e(report["model_type"])} <code>{e(report["model_version"])}</code></dd>'
             f'<dt>status</dt><dd>{badge(ok, label, label, label)}</dd>'
             f'<dt>holdout</dt><dd>release {code(report["release"]["version"])} of {code(report["release"]["output"])}, '
             f'{e(report["release"]["rows"])} rows, {e(perf["positives"])} positive</dd>'
             f'<dt>predictions</dt><dd>sha256 {code(report["predictions"]["sha256"][:16])}…, '
             f'{e(report["predictions"]["rows"])} rows</dd>'
             f'<dt>decision threshold</dt><dd>{e(report["decision_threshold"])}</dd></dl>')
    numbers = table(["ROC AUC", "Brier score", "calibration error", "precision at recall", "accuracy"], [[
        fmt(perf["roc_auc"]), fmt(perf["brier_score"]), fmt(perf["calibration_error"]),
        f'{fmt(perf["precision_at_recall"])} at {fmt(perf["recall_target"])}' if perf["recall_target"] else "-",
        fmt(perf["accuracy"])]])
    promote = (f'<p>Promotion to production: trigger {code(agreement_id + "__promote_model")} with this purpose and '
               "version; the steward decides in Airflow's Required Actions (HITL).</p>") if status == "passed" else ""
    return Html(facts + numbers + render_html(report, bias) + promote
                + section("Label bias: training release vs the model on the holdout", side_by_side(report, bias),
                          level=3))


def side_by_side(report: dict[str, Any], bias: dict[str, dict[str, float]] | None) -> Html:
    """Per protected attribute: each group's label rate in the released training data (pre-training bias) next to
    the label rate and the model's selection rate, TPR and FPR on the holdout (post-training bias)."""
    parts = []
    for f in report["fairness"]:
        released = (bias or {}).get(f["attribute"], {})
        rows = [(f"#{i} {g['group']}", fmt(released.get(g["group"])), fmt(g["base_rate"]), fmt(g["selection_rate"]),
                 fmt(g["tpr"]), fmt(g["fpr"]), g["rows"], "yes" if g["gated"] else "no (too small)")
                for i, g in enumerate(f["groups"], 1)]
        parts.append(f"<h4>{e(f['attribute'])}</h4>" + table(
            ["group", "label rate, training release", "label rate, holdout", "model selection rate", "TPR", "FPR",
             "holdout rows", "gated"], rows))
        parts.append(f"<p>selection-rate ratio {fmt(f['selection_rate_ratio'])}, equalized-odds difference "
                     f"{fmt(f['equalized_odds_difference'])} (TPR gap {fmt(f['tpr_gap'])}, FPR gap {fmt(f['fpr_gap'])})"
                     "</p>")
    return Html("".join(parts) or "<p>No fairness target is agreed for this purpose.</p>")


def render_model_versions(loaded: LoadedAgreement, versions: Sequence[ModelVersion], *, base: str) -> Html:
    """Per purpose with a model_evaluation: every evaluated model version with its status, linked to its report."""
    parts = []
    for m in loaded.agreement.model_evaluation:
        mine = [v for v in versions if v.purpose == m.purpose]
        rows = [(a(f"{base}/evaluations/{url(loaded.id, v.purpose, v.model_version)}", v.model_version), v.model_type,
                 f"{v.iteration} of {m.max_iterations}", badge(*_status(v.status)), when(v.evaluated_at),
                 v.decided_by or "-") for v in mine]
        body = table(["version", "model type", "iteration", "status", "evaluated", "decided by"], rows) if rows else \
            Html(f"<p>No model version evaluated yet ({m.max_iterations} allowed).</p>")
        parts.append(f"<h4>purpose <code>{e(m.purpose)}</code></h4>{body}")
    return Html("".join(parts))


def _status(status: str) -> tuple[bool | None, str, str, str]:
    ok, label = STATUS.get(status, (None, status.upper()))
    return ok, label, label, label


def render_run_models(reports: Sequence[tuple[dict[str, Any], dict[str, dict[str, float]] | None]], *,
                      base: str, agreement_id: str) -> Html:
    """The review page's section: for each model evaluated on this run's holdout, the side-by-side bias table."""
    parts = []
    for report, bias in reports:
        link = a(f"{base}/evaluations/{url(agreement_id, report['purpose'], report['model_version'])}",
                 f"{report['model_type']} {report['model_version']}")
        parts.append(f"<h3>{link} ({e(report['purpose'])}): {badge(report['passed'], 'PASSED', 'FAILED')}</h3>"
                     + side_by_side(report, bias))
    return Html("".join(parts))
