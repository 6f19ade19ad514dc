"""The Reviews page: per run and dataset, what the steward needs to approve or reject a release.

Reads the reports the pipeline wrote under <agreement>/reports/<dataset>/<run>/ through the data
root (encrypted ones are decrypted there): pii_scan.json, checks/summary.json (quality, privacy,
bias results with the agreement's thresholds), synthetic_<output>.json; and links the steward
summary and the GX Data Docs, served by the plugin from checks/.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pactline.charts import FAIL_COLOUR, RAW_COLOUR, RELEASED_COLOUR, bar_chart, pct, score_chart
from pactline.store.layout import CHECKS_DIR, PII_SCAN, SUMMARY_HTML, SUMMARY_JSON, SYNTHETIC_PREFIX, safe_run_id
from pactline.ui.html import (
    Html,
    a,
    badge,
    code,
    details,
    e,
    fmt,
    notice,
    section,
    short,
    table,
    url,
    when,
)

SUMMARY = f"{CHECKS_DIR}/{SUMMARY_JSON}"
ReportUrl = Callable[[str, str, str, str], str]  # (agreement, dataset, run folder, path in it) -> URL
PiaUrl = Callable[[str, str], str]  # (dataset, run folder) -> URL of the run's privacy impact assessment page


@dataclass
class DatasetReport:
    dataset: str
    folder: str  # <agreement>/reports/<dataset>/<run folder>
    run_id: str | None = None
    pii: dict[str, Any] | None = None
    checks: dict[str, Any] | None = None
    synthetic: dict[str, dict[str, Any]] = field(default_factory=dict)  # output id -> report
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool | None:
        verdicts = []
        if self.checks is not None:
            verdicts.append(bool(self.checks.get("passed")))
        verdicts += [bool(s.get("passed")) for s in self.synthetic.values()]
        return all(verdicts) if verdicts else None


@dataclass
class RunReview:
    agreement_id: str
    run_folder: str
    run_id: str
    datasets: list[DatasetReport] = field(default_factory=list)
    generated_at: str | None = None

    @property
    def passed(self) -> bool | None:
        verdicts = [d.passed for d in self.datasets if d.passed is not None]
        return all(verdicts) if verdicts else None

    @property
    def fingerprint(self) -> str | None:
        """The agreement fingerprint the run's reports were written under."""
        for d in self.datasets:
            found = ((d.checks or {}).get("agreement") or {}).get("fingerprint") or (d.pii or {}).get("fingerprint")
            if found:
                return str(found)
        return None


def _read_json(root: Any, rel: str, problems: list[str]) -> dict[str, Any] | None:
    try:
        if not root.exists(rel):
            return None
        data = json.loads(root.read_bytes(rel))
    except Exception as err:  # a damaged or unreadable report is shown as such, never breaks the page
        problems.append(f"{posixpath.basename(rel)}: cannot be read ({type(err).__name__}: {str(err)[:200]})")
        return None
    return data if isinstance(data, dict) else None


def load_dataset_report(root: Any, agreement_id: str, dataset: str, run_folder: str) -> DatasetReport:
    folder = f"{agreement_id}/reports/{dataset}/{run_folder}"
    rep = DatasetReport(dataset, folder)
    rep.checks = _read_json(root, f"{folder}/{SUMMARY}", rep.problems)
    rep.pii = _read_json(root, f"{folder}/{PII_SCAN}", rep.problems)
    for name in root.ls(folder):
        if name.startswith(SYNTHETIC_PREFIX) and name.endswith(".json"):
            data = _read_json(root, f"{folder}/{name}", rep.problems)
            if data is not None:
                rep.synthetic[str(data.get("output") or name[len(SYNTHETIC_PREFIX):-5])] = data
    for source in (rep.checks, rep.pii):
        if source and source.get("run_id"):
            rep.run_id = str(source["run_id"])
            break
    return rep


def run_folders(root: Any, agreement_id: str) -> dict[str, list[str]]:
    """run folder -> datasets that have reports for it."""
    out: dict[str, list[str]] = {}
    for dataset in root.ls(f"{agreement_id}/reports"):
        for run in root.ls(f"{agreement_id}/reports/{dataset}"):
            out.setdefault(run, []).append(dataset)
    return out


def load_run(root: Any, agreement_id: str, run: str) -> RunReview | None:
    """The reports of one run (`run` is the run id or its folder name); None if there are none."""
    folder = safe_run_id(run)
    datasets = run_folders(root, agreement_id).get(folder)
    if not datasets:
        return None
    reports = [load_dataset_report(root, agreement_id, d, folder) for d in sorted(datasets)]
    run_id = next((r.run_id for r in reports if r.run_id), run)
    generated = max((str((r.checks or {}).get("generated_at") or "") for r in reports), default="") or None
    return RunReview(agreement_id, folder, run_id, reports, generated)


def list_runs(root: Any, agreement_id: str, limit: int = 50) -> list[RunReview]:
    """Runs with reports, newest first (by report time, else by folder name)."""
    runs = [r for r in (load_run(root, agreement_id, f) for f in run_folders(root, agreement_id)) if r]
    runs.sort(key=lambda r: (r.generated_at or "", r.run_folder), reverse=True)
    return runs[:limit]


# -- rendering -------------------------------------------------------------------------------------

def _pii_section(rep: DatasetReport, on_undeclared: str | None = None) -> Html:
    if rep.pii is None:
        return Html("<p>No PII scan report.</p>")
    findings = rep.pii.get("findings") or []
    if findings:
        rows = [(code(f.get("column")), f.get("kind"), f.get("declared"), f.get("found"), pct(f.get("share")),
                 "free text" if f.get("free_text") else "values") for f in findings]
        action = (f"the agreement's <code>privacy.on_undeclared_pii</code> says <strong>{e(on_undeclared)}</strong>"
                  if on_undeclared else "the agreement's <code>privacy.on_undeclared_pii</code> decided what happened")
        found = Html(f"<p>{badge(False, no=f'{len(findings)} VIOLATION(S)')} PII where the agreement does not "
                     f"declare it; {action}. Each violation is in the ledger and opened an incident.</p>"
                     + table(["column", "finding", "declared", "found", "share", "in"], rows))
    else:
        found = Html(f"<p>{badge(True, 'NO VIOLATIONS')} every column holds what the agreement declares.</p>")
    columns = (rep.pii.get("report") or {}).get("columns") or []
    chart = Html("")
    if columns:
        names = [str(c.get("name")) for c in columns]
        shares = [c.get("share") if c.get("entity") or c.get("entity_counts") else 0.0 for c in columns]
        flagged = {str(f.get("column")) for f in findings}
        colours = [FAIL_COLOUR if n in flagged else None for n in names]
        chart = Html("<figure>" + bar_chart(
            "Share of sampled values recognised as PII", names, [("PII share", RELEASED_COLOUR, shares)],
            max_value=1.0, colours=colours,
            legend=[("as declared", RELEASED_COLOUR), ("PII where none is declared", FAIL_COLOUR)])
            + "<figcaption>Share of the sampled values of each column that matched the detected entity "
            "(0 where no entity reached the minimum share); red where the agreement declares no PII."
            "</figcaption></figure>")
    from pactline.pii.report import evidence_text

    rows = [(code(c.get("name")), c.get("dtype"), c.get("entity") or "-",
             (c.get("category") or "-") + (" (art. 9)" if c.get("sensitive") else "")
             + (", identifier candidate" if c.get("identifier_candidate") else ""),
             ", ".join(f"{k} x{v}" for k, v in sorted((c.get("entity_counts") or {}).items()) if v) or "-",
             pct(c.get("share")), fmt(c.get("uniqueness")), fmt(c.get("confidence")),
             evidence_text(c.get("evidence") or {}), c.get("reason"),
             ", ".join(str(x) for x in (c.get("examples") or [])[:3]))
            for c in columns]
    col_table = details(f"all {len(columns)} columns as classified (examples are masked)",
                        table(["column", "type", "entity", "category", "spans in text", "share", "distinct share",
                               "confidence", "evidence", "why", "masked examples"], rows))
    return Html(found + chart + col_table + _quasi_identifiers(rep.pii))


def _quasi_identifiers(pii: Mapping[str, Any]) -> Html:
    """The scan's smallest column combinations that single out most rows, next to the declared
    quasi-identifiers: counts and column names only."""
    combos = (pii.get("report") or {}).get("quasi_identifiers") or []
    declared = pii.get("declared_quasi_identifiers")
    said = (", ".join(code(n) for n in declared) or "none") if declared is not None else "not recorded"
    head = f"<h4>Quasi-identifier combinations</h4><p>Declared quasi-identifiers: {said}.</p>"
    if not combos:
        return Html(head + "<p>No combination of up to three columns makes most sampled rows unique.</p>")
    rows = [(Html(" + ".join(code(n) for n in q.get("columns") or [])),
             "yes" if declared is not None and set(q.get("columns") or []) <= set(declared) else "no",
             f"{q.get('unique_rows')} of {q.get('rows')}", pct(q.get("share"))) for q in combos]
    return Html(head + table(["columns", "all declared", "unique rows", "share"], rows))


def _outcomes(results: Iterable[Mapping[str, Any]], *, collapse_passed: bool = False) -> Html:
    """Each expectation with its observed value, the agreed threshold and the clause; failures first."""
    results = list(results)
    headers = ["result", "expectation", "columns", "observed", "threshold", "clause"]

    def rows(items: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        return [(badge(bool(o.get("success"))), o.get("description") or o.get("expectation"),
                 ", ".join(o.get("columns") or []), fmt(o.get("observed")), fmt(o.get("threshold")),
                 code(o.get("clause") or "")) for o in items]

    failed = [o for o in results if not o.get("success")]
    passed = [o for o in results if o.get("success")]
    if not collapse_passed:
        return table(headers, rows(failed + passed))
    out = table(headers, rows(failed)) if failed else Html("")
    if passed:
        out = Html(out + details(f"{len(passed)} expectation(s) passed", table(headers, rows(passed))))
    return out


def bias_charts(check: Mapping[str, Any], after: str = "after protection (released)") -> Html:
    """Positive rate per group before (raw) and after (released, or synthetic) protection, per protected attribute."""
    out = []
    for entry in (check.get("extras") or {}).get("groups", []) or []:
        raw, rel = entry.get("raw") or {}, entry.get("released") or {}
        names = sorted(set(raw.get("groups") or {}) | set(rel.get("groups") or {}))
        if not names:
            continue

        def pick(side: Mapping[str, Any], key: str, names: list[str] = names) -> list[float | None]:
            return [((side.get("groups") or {}).get(n) or {}).get(key) for n in names]

        attr, label = entry.get("attribute"), entry.get("label")
        chart = bar_chart(f"Positive rate of {label} by {attr}", names,
                          [("before protection (raw)", RAW_COLOUR, pick(raw, "positive_rate")),
                           (after, RELEASED_COLOUR, pick(rel, "positive_rate"))])
        caption = (f"Positive rate of {label} (positive: {entry.get('positive')}) per {attr} group. Disparate impact "
                   f"{fmt(raw.get('disparate_impact'))} raw, {fmt(rel.get('disparate_impact'))} released; parity "
                   f"difference {fmt(raw.get('parity_difference'))} raw, {fmt(rel.get('parity_difference'))} released.")
        small = sorted(set(raw.get("small_groups") or []) | set(rel.get("small_groups") or []))
        if small:
            caption += f" Groups below the minimum size, left out of the parity numbers: {', '.join(map(str, small))}."
        counts = table(["group", "rows raw", "rows released", "positive rate raw", "positive rate released"],
                       [(n, fmt(cr), fmt(cl), pct(pr), pct(pl)) for n, cr, cl, pr, pl in zip(
                           names, pick(raw, "count"), pick(rel, "count"), pick(raw, "positive_rate"),
                           pick(rel, "positive_rate"), strict=True)])
        out.append(f'<figure class="bias">{chart}<figcaption>{e(caption)}</figcaption></figure>{counts}')
    return Html("".join(out))


def _checks_section(rep: DatasetReport, agreement_id: str, report_url: ReportUrl) -> Html:
    if rep.checks is None:
        return Html("<p>No check results yet (the run has not reached the quality check, or it failed before).</p>")
    run_folder = rep.folder.rsplit("/", 1)[1]
    summary_link = a(report_url(agreement_id, rep.dataset, run_folder, f"{CHECKS_DIR}/{SUMMARY_HTML}"), "steward summary")
    parts = [f"<p>{badge(bool(rep.checks.get('passed')), 'ALL GATES PASSED', 'A GATE FAILED')} "
             f"{summary_link} (full report with every detail)</p>"]
    overview = []
    for name, c in (rep.checks.get("checks") or {}).items():
        results = c.get("results") or []
        failed = sum(1 for o in results if not o.get("success"))
        docs = c.get("docs_link")
        docs_html = a(report_url(agreement_id, rep.dataset, run_folder, f"{CHECKS_DIR}/{docs}"), "GX Data Docs") if docs else "-"
        overview.append((name, badge(bool(c.get("passed"))), f"{failed} of {len(results)} failed", code(c.get("suite")),
                         docs_html))
    parts.append(table(["check", "result", "expectations", "suite", "Data Docs"], overview))
    thresholds = rep.checks.get("thresholds") or {}
    if thresholds:
        rows = [("quality", code(json.dumps(r, ensure_ascii=False))) for r in thresholds.get("quality_rules", [])]
        if thresholds.get("privacy"):
            rows.append(("privacy", code(json.dumps(thresholds["privacy"], ensure_ascii=False))))
        rows += [("bias", code(json.dumps(b, ensure_ascii=False))) for b in thresholds.get("bias_checks", [])]
        parts.append(details("thresholds as agreed", table(["check", "clause"], rows)))
    for name, c in (rep.checks.get("checks") or {}).items():
        parts.append(f"<h4>{e(name)} {badge(bool(c.get('passed')))}</h4>")
        kind = str(c.get("kind") or name)
        if kind == "bias":
            parts.append(bias_charts(c))
        elif kind.startswith("bias_"):  # the agreed bias checks on a synthetic output's rows
            parts.append(bias_charts(c, f"synthetic ({kind.removeprefix('bias_')})"))
        skipped = (c.get("extras") or {}).get("skipped") or []
        if skipped:
            parts.append(f'<p class="meta">Not applicable: {e("; ".join(map(str, skipped)))}</p>')
        results = c.get("results") or []
        collapse = c.get("kind") == "quality" or len(results) > 8
        parts.append(_outcomes(results, collapse_passed=collapse) if results else "<p>No expectations apply.</p>")
    return Html("".join(parts))


SCORE_METRICS = ("quality_score", "dcr_baseline_protection", "dcr_overfitting_protection")


def _synthetic_section(reports: Mapping[str, Mapping[str, Any]]) -> Html:
    parts = []
    for output, rep in sorted(reports.items()):
        checks = rep.get("checks") or []
        scores = [(c.get("metric"), c.get("observed"), c.get("threshold"), c.get("op") or ">=")
                  for c in checks if c.get("metric") in SCORE_METRICS]
        chart = score_chart(f"Synthetic {output}: scores against the agreement's thresholds",
                            [(str(m), v if isinstance(v, int | float) else None,
                              t if isinstance(t, int | float) else None, str(op)) for m, v, t, op in scores])
        gates = table(["result", "metric", "observed", "must be", "clause"],
                      [(badge(bool(c.get("passed"))), c.get("metric"), fmt(c.get("observed")),
                        f"{c.get('op')} {fmt(c.get('threshold'))}", code(c.get("clause"))) for c in checks])
        per_column = ((rep.get("quality") or {}).get("per_column") or {})
        col_chart = Html("")
        if per_column:
            names = sorted(per_column)
            col_chart = Html(f"<figure>{bar_chart('Per-column quality of the synthetic data', names, [('score', RELEASED_COLOUR, [per_column[n].get('score') for n in names])], max_value=1.0)}"
                             "<figcaption>How closely each modelled column's distribution matches the real data "
                             "(1 = identical).</figcaption></figure>")
        privacy = rep.get("privacy") or {}
        facts = table(["privacy measure", "value"], [
            ("exact copies of real rows", fmt(privacy.get("exact_copies"))),
            ("real identifiers leaked", fmt(privacy.get("leaked_identifiers"))),
            ("DCR baseline protection", fmt((privacy.get("dcr_baseline_protection") or {}).get("score"))),
            ("DCR overfitting protection", fmt((privacy.get("dcr_overfitting_protection") or {}).get("score"))),
            ("quality score", fmt((rep.get("quality") or {}).get("score"))),
        ])
        roles = details("how each column was synthesised", table(
            ["column", "category", "role", "why"],
            [(code(c.get("name")), c.get("category"), c.get("role"), c.get("reason")) for c in rep.get("columns") or []]))
        parts.append(f"<h4>output {e(output)} {badge(bool(rep.get('passed')))}</h4><figure>{chart}<figcaption>"
                     "Bars are the observed scores, the black line the agreement's threshold.</figcaption></figure>"
                     f"{gates}{facts}{col_chart}{roles}")
    return Html("".join(parts))


def render_dataset(rep: DatasetReport, agreement_id: str, report_url: ReportUrl,
                   on_undeclared: str | None = None, pia_url: PiaUrl | None = None) -> Html:
    parts = [f'<section class="dataset" id="dataset-{e(rep.dataset)}"><h2>Dataset {e(rep.dataset)} '
             f"{badge(rep.passed, 'PASSED', 'FAILED', 'INCOMPLETE')}</h2>"]
    if pia_url is not None:
        run_folder = rep.folder.rsplit("/", 1)[1]
        parts.append(f"<p>{a(pia_url(rep.dataset, run_folder), 'Privacy impact assessment')} of this run: categories "
                     "and legal bases, transfers, every column's transformation, measured risks, retention, "
                     "open incidents.</p>")
    for problem in rep.problems:
        parts.append(notice(problem, "error"))
    parts.append(f"<h3>PII scan</h3>{_pii_section(rep, on_undeclared)}")
    parts.append(f"<h3>Quality, privacy and bias</h3>{_checks_section(rep, agreement_id, report_url)}")
    if rep.synthetic:
        parts.append(f"<h3>Synthetic data</h3>{_synthetic_section(rep.synthetic)}")
    parts.append("</section>")
    return Html("".join(parts))


def render_run(review: RunReview, *, fingerprint: str | None, report_url: ReportUrl, approvals: Html = Html(""),
               ledger_rows: Html = Html(""), on_undeclared: str | None = None, pia_url: PiaUrl | None = None,
               models: Html = Html("")) -> Html:
    head = (f'<dl class="facts"><dt>agreement</dt><dd><code>{e(review.agreement_id)}</code></dd>'
            f"<dt>run</dt><dd><code>{e(review.run_id)}</code></dd>"
            f"<dt>reports written</dt><dd>{when(review.generated_at)}</dd>"
            f"<dt>fingerprint</dt><dd>{short(fingerprint, 64)}</dd>"
            f"<dt>verdict</dt><dd>{badge(review.passed, 'EVERY GATE PASSED', 'A GATE FAILED', 'INCOMPLETE')}</dd></dl>")
    toc = " ".join(a(f"#dataset-{d.dataset}", d.dataset) for d in review.datasets)
    body = [head, f'<nav class="sub">datasets: {toc}</nav>']
    if approvals:
        body.append(section("Release approval", approvals, id_="approval"))
    body += [render_dataset(d, review.agreement_id, report_url, on_undeclared, pia_url) for d in review.datasets]
    if models:  # issue 15: the label's bias in the training release beside each model's on this run's holdout
        body.append(section("Pre- and post-training bias", models, id_="models"))
    if ledger_rows:
        body.append(section("Decisions and releases in the ledger", ledger_rows, id_="ledger"))
    return Html("".join(body))


def render_index(runs: Mapping[str, list[RunReview]], *, base: str, pending: Mapping[tuple[str, str], int]) -> Html:
    """Every agreement's runs with reports; `pending` counts approvals waiting per (agreement, run id)."""
    if not runs:
        return Html("<p>No agreement you may read.</p>")
    parts = []
    for agreement_id, items in sorted(runs.items()):
        rows = []
        for r in items:
            waiting = pending.get((agreement_id, r.run_id), 0)
            verdicts = " ".join(f"{d.dataset}: {badge(d.passed, 'pass', 'fail', 'incomplete')}" for d in r.datasets)
            rows.append((a(f"{base}/runs/{url(agreement_id, r.run_id)}", r.run_id), when(r.generated_at),
                         Html(verdicts), Html(f'<span class="badge warn">{waiting} waiting</span>') if waiting else "-"))
        body = table(["run", "reports written", "datasets", "approval"], rows) if rows else Html(
            "<p>No run has written reports yet.</p>")
        parts.append(section(f"{agreement_id}", body, id_=f"agreement-{agreement_id}"))
    return Html("".join(parts))


def report_path_ok(path: str) -> bool:
    """A path inside a run's checks/ folder that names a file (no traversal, no hidden parts)."""
    if not path.startswith(f"{CHECKS_DIR}/") or "\\" in path or "\x00" in path:
        return False
    parts = path.split("/")
    return all(p and p not in (".", "..") and not p.startswith(".") for p in parts)


__all__ = ["DatasetReport", "RunReview", "bias_charts", "list_runs", "load_run", "render_index", "render_run",
           "report_path_ok", "url"]
