"""The steward's summary of one run for one dataset: summary.json and a self-contained summary.html.

The HTML page needs nothing else: inline CSS, inline SVG bar charts, no JavaScript, no external
assets, and every piece of text from the agreement or the data escaped. It shows the agreement's
thresholds, each expectation's observed value and verdict, and the positive rate per group of
each protected attribute before (raw) and after (released) protection.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

from pactline.agreement.loader import LoadedAgreement, fingerprint
from pactline.agreement.model import Agreement
from pactline.charts import RAW_COLOUR, RELEASED_COLOUR, bar_chart  # the same charts the steward pages draw
from pactline.checks.result import CheckResult, Outcome, fmt, json_safe, without_values
from pactline.store.layout import SUMMARY_HTML, SUMMARY_JSON


def _unwrap(agreement: Agreement | LoadedAgreement) -> tuple[Agreement, str]:
    if isinstance(agreement, LoadedAgreement):
        return agreement.agreement, agreement.fingerprint
    return agreement, fingerprint(agreement)


def thresholds(agreement: Agreement, dataset_id: str) -> dict[str, Any]:
    """The agreement's clauses that apply to the dataset, as written there."""
    return json_safe({
        "quality_rules": [r.model_dump(exclude_none=True) for r in agreement.quality_rules if r.dataset == dataset_id],
        "privacy": agreement.privacy.model_dump(exclude={"synthetic", "on_undeclared_pii"}, exclude_none=True),
        "bias_checks": [b.model_dump() for b in agreement.bias_checks if b.dataset == dataset_id],
    })


def _docs_link(result: CheckResult, out_dir: Path) -> str | None:
    if not result.docs_index:
        return None
    return Path(os.path.relpath(result.docs_index, out_dir)).as_posix()


def summary(results: Mapping[str, CheckResult], out_dir: Path, *, agreement: Agreement | LoadedAgreement,
            dataset_id: str, run_id: str) -> dict[str, Any]:
    a, fp = _unwrap(agreement)
    checks = {}
    for name, r in results.items():
        d = r.to_dict()
        d["docs_link"] = _docs_link(r, out_dir)
        checks[name] = d
    return {
        "kind": "pactline/check-summary",
        "agreement": {"id": a.metadata.id, "version": a.metadata.version, "title": a.metadata.title,
                      "fingerprint": fp},
        "dataset": dataset_id,
        "run_id": run_id,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "passed": all(r.passed for r in results.values()),
        "thresholds": thresholds(a, dataset_id),
        "checks": checks,
    }


def write_summary(results: Mapping[str, CheckResult], out_dir: Path, *, agreement: Agreement | LoadedAgreement,
                  dataset_id: str, run_id: str) -> tuple[Path, Path]:
    """Write out_dir/summary.json and out_dir/summary.html; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = summary(results, out_dir, agreement=agreement, dataset_id=dataset_id, run_id=run_id)
    json_path, html_path = out_dir / SUMMARY_JSON, out_dir / SUMMARY_HTML
    json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    html_path.write_text(render_html(data), encoding="utf-8")
    return json_path, html_path


# -- HTML --------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:72rem;color:#1d2430;
padding:0 1rem;line-height:1.4}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d5dbe5}
h3{font-size:1rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #d5dbe5;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f1f4f8}.pass{color:#17692f;font-weight:600}.fail{color:#b3261e;font-weight:600}
.badge{display:inline-block;padding:.15rem .6rem;border-radius:.8rem;color:#fff;font-weight:600}
.badge.pass{background:#17692f;color:#fff}.badge.fail{background:#b3261e;color:#fff}
.meta{color:#55606f;font-size:.9rem}code,pre{font-family:ui-monospace,monospace;font-size:.85rem}
pre{white-space:pre-wrap;margin:.3rem 0;max-height:20rem;overflow:auto;background:#f7f8fa;padding:.4rem}
figure{margin:1rem 0}figcaption{font-size:.9rem;color:#55606f}
"""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _verdict(ok: bool) -> str:
    return f'<span class="{"pass" if ok else "fail"}">{"PASS" if ok else "FAIL"}</span>'


def histogram_text(histogram: Mapping[str, Any] | None, unit: str) -> str:
    """{"1": 12, "2": 3} as "12 classes of 1 row, 3 classes of 2 rows" (classes by size, or by distinct values)."""
    return ", ".join(f"{n} class{'' if n == 1 else 'es'} of {size} {unit}{'' if str(size) == '1' else 's'}"
                     for size, n in (histogram or {}).items())


def _details(outcome: Mapping[str, Any]) -> str:
    """The readable part first (residual-PII rows with their entities and masked shape, how many
    equivalence classes of each size fall below k, groups below a threshold), then everything as
    JSON behind a <details> toggle (native HTML, no script). Counts and positions only: keys that
    quote the data (see pactline.checks.result.VALUE_KEYS) are left out, also from older reports."""
    details = without_values(outcome.get("details"))
    if not details:
        return ""
    parts = []
    if details.get("error"):
        parts.append(f"<div class=\"fail\">{_e(details['error'])}</div>")
    if details.get("examples"):
        rows = "".join(f"<li>row {_e(x.get('row'))} ({_e(', '.join(x.get('entities', [])))}): "
                       f"<code>{_e(x.get('masked', ''))}</code></li>" for x in details["examples"])
        parts.append(f"{_e(details.get('rows_with_pii'))} of {_e(details.get('rows_checked'))} values; shape "
                     f"(letters x, digits 9):<ul>{rows}</ul>")
    if details.get("sizes_below_k"):
        parts.append(f"classes below k by size, of {_e(details.get('classes'))}: "
                     f"{_e(histogram_text(details['sizes_below_k'], 'row'))}")
    if details.get("distinct_below_l"):
        parts.append(f"classes below l by distinct sensitive values, of {_e(details.get('classes'))}: "
                     f"{_e(histogram_text(details['distinct_below_l'], 'distinct value'))}")
    for key in ("below", "exceeded"):
        if details.get(key):
            parts.append(f"{_e(key)}: {_e(', '.join(map(str, details[key])))}")
    text = json.dumps(details, indent=1, ensure_ascii=False, sort_keys=True)
    parts.append(f"<details><summary>all details</summary><pre>{_e(text)}</pre></details>")
    return "".join(parts)


def _outcomes_table(outcomes: list[Mapping[str, Any]]) -> str:
    rows = ["<tr><th>result</th><th>expectation</th><th>columns</th><th>observed</th><th>threshold</th>"
            "<th>clause</th><th>details</th></tr>"]
    for o in outcomes:
        what = o.get("description") or o["expectation"]
        rows.append(
            f"<tr><td>{_verdict(o['success'])}</td><td>{_e(what)}<br><code>{_e(o['expectation'])}</code></td>"
            f"<td>{_e(', '.join(o.get('columns') or []))}</td><td>{_e(fmt(o.get('observed')))}</td>"
            f"<td>{_e(fmt(o.get('threshold')))}</td><td><code>{_e(o.get('clause', ''))}</code></td>"
            f"<td>{_details(o)}</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


def _bias_charts(check: Mapping[str, Any]) -> str:
    out = []
    for entry in (check.get("extras") or {}).get("groups", []):
        raw, rel = entry.get("raw") or {}, entry.get("released") or {}
        names = sorted(set(raw.get("groups", {})) | set(rel.get("groups", {})))
        if not names:
            continue

        def pick(side: Mapping[str, Any], key: str, names: list[str] = names) -> list[float | None]:
            return [(side.get("groups", {}).get(n) or {}).get(key) for n in names]

        attr, label = entry["attribute"], entry["label"]
        rates = bar_chart(f"Positive rate of {label} by {attr}", names,
                          [("raw", RAW_COLOUR, pick(raw, "positive_rate")),
                           ("released", RELEASED_COLOUR, pick(rel, "positive_rate"))])
        shares = bar_chart(f"Share of rows by {attr}", names,
                           [("raw", RAW_COLOUR, pick(raw, "share")), ("released", RELEASED_COLOUR, pick(rel, "share"))])
        rows = ["<tr><th>group</th><th>rows raw</th><th>rows released</th><th>positive rate raw</th>"
                "<th>positive rate released</th></tr>"]
        for n, cr, cl, pr, pl in zip(names, pick(raw, "count"), pick(rel, "count"), pick(raw, "positive_rate"),
                                     pick(rel, "positive_rate"), strict=True):
            rows.append(f"<tr><td>{_e(n)}</td><td>{_e(fmt(cr))}</td><td>{_e(fmt(cl))}</td>"
                        f"<td>{_e(fmt(pr))}</td><td>{_e(fmt(pl))}</td></tr>")
        parity = (f"disparate impact raw {fmt(raw.get('disparate_impact'))}, released "
                  f"{fmt(rel.get('disparate_impact'))}; parity difference raw {fmt(raw.get('parity_difference'))}, "
                  f"released {fmt(rel.get('parity_difference'))}")
        out.append(
            f"<h3>{_e(attr)} and {_e(label)} (positive: {_e(entry.get('positive'))})</h3>"
            f"<figure>{rates}<figcaption>Positive rate of {_e(label)} per {_e(attr)} group, before (raw) and after "
            f"(released) protection. {_e(parity)}.</figcaption></figure>"
            f"<figure>{shares}<figcaption>Share of rows per {_e(attr)} group.</figcaption></figure>"
            "<table>" + "".join(rows) + "</table>")
    return "".join(out)


def _thresholds_html(t: Mapping[str, Any]) -> str:
    rows = []
    for r in t.get("quality_rules", []):
        rows.append(("quality", json.dumps(r, ensure_ascii=False)))
    if t.get("privacy"):
        rows.append(("privacy", json.dumps(t["privacy"], ensure_ascii=False)))
    for b in t.get("bias_checks", []):
        rows.append(("bias", json.dumps(b, ensure_ascii=False)))
    body = "".join(f"<tr><td>{_e(k)}</td><td><code>{_e(v)}</code></td></tr>" for k, v in rows)
    return f"<table><tr><th>check</th><th>clause as agreed</th></tr>{body}</table>"


def render_html(data: Mapping[str, Any]) -> str:
    a = data["agreement"]
    ok = data["passed"]
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>Pactline checks: {_e(a['id'])} / {_e(data['dataset'])} / {_e(data['run_id'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Checks of dataset {_e(data['dataset'])} "
        f"<span class=\"badge {'pass' if ok else 'fail'}\">{'PASSED' if ok else 'FAILED'}</span></h1>",
        f"<p class=\"meta\">Agreement {_e(a['title'])} (<code>{_e(a['id'])}</code> version {_e(a['version'])}, "
        f"fingerprint <code>{_e(a['fingerprint'])}</code>)<br>Run <code>{_e(data['run_id'])}</code>, "
        f"generated {_e(data['generated_at'])}</p>",
        "<table><tr><th>check</th><th>result</th><th>failed</th><th>suite</th><th>Data Docs</th></tr>",
    ]
    for name, c in data["checks"].items():
        failed = sum(1 for o in c["results"] if not o["success"])
        link = f"<a href=\"{_e(c['docs_link'])}\">open</a>" if c.get("docs_link") else "-"
        parts.append(f"<tr><td>{_e(name)}</td><td>{_verdict(c['passed'])}</td><td>{failed} of {len(c['results'])}"
                     f"</td><td><code>{_e(c['suite'])}</code></td><td>{link}</td></tr>")
    parts.append("</table><h2>Thresholds from the agreement</h2>")
    parts.append(_thresholds_html(data.get("thresholds") or {}))
    for name, c in data["checks"].items():
        parts.append(f"<h2>{_e(name.capitalize())} {_verdict(c['passed'])}</h2>")
        skipped = (c.get("extras") or {}).get("skipped") or []
        if skipped:
            parts.append("<p class=\"meta\">Not applicable: " + "; ".join(_e(s) for s in skipped) + "</p>")
        if c["kind"] == "bias":
            parts.append(_bias_charts(c))
        parts.append(_outcomes_table(c["results"]) if c["results"] else "<p>No expectations apply.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


__all__ = ["CheckResult", "Outcome", "render_html", "summary", "thresholds", "write_summary"]
