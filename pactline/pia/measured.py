"""The sections of a privacy impact assessment that say what one run measured: privacy risks (every outcome of the
privacy gate, whatever its rules: k, l, residual PII, re-identification risk, leakage, ...), the PII scan's
findings, synthetic privacy scores, differentially private spending, bias, the other gates, and open incidents.

Gate outcomes are listed generically (expectation, columns, observed, threshold, counts, clause), so a rule added
to a gate appears here without a change. Only numbers, the agreement's terms and Pactline's own names are shown:
an observed value that is not a number, and every nested detail (where group labels and masked examples live),
is left to the run's review, which is encrypted like the data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pactline.agreement import LoadedAgreement
from pactline.agreement.model import Dataset
from pactline.checks.result import VALUE_KEYS
from pactline.checks.result import fmt as check_fmt
from pactline.pia.document import Block, Cell, Code, Section, Verdict, heading, para, table
from pactline.pia.evidence import RunEvidence

PRIVACY, BIAS = "privacy", "bias"
DP_PREFIX = "dp."  # ledger events of differentially private training and budget; a spend carries `epsilon`
INCIDENT_OPENED = "incident.opened"
# A steward's acknowledgement names the incident.opened entry it answers by ledger index (issue 17 adds the form)
ACKNOWLEDGED = ("incident.acknowledged",)
ACK_KEYS = ("incident", "incident_index")
OUTCOME_HEADERS = ["result", "gate", "expectation", "what it measures", "columns", "observed", "threshold", "counts",
                   "clause"]


def number(value: Any) -> str:
    return check_fmt(value, none="-", yes_no=True)


def is_number(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float)


def observed_text(value: Any) -> str:
    """A gate's observed value if it is a number; anything else may hold labels of the data and stays in the review."""
    return number(value) if is_number(value) else "see the run's review"


def counts_text(details: Mapping[str, Any] | None) -> str:
    """An outcome's numeric details (rows, classes, rows with PII, ...); nested ones name groups, so they stay out."""
    return ", ".join(f"{k}={number(v)}" for k, v in (details or {}).items()
                     if k not in VALUE_KEYS and isinstance(v, bool | int | float)) or "-"


def numbers_text(payload: Mapping[str, Any], columns: Iterable[str] = ()) -> str:
    """The numbers of a ledger payload or report section, by name. Texts and nested parts are left out, except a
    mapping from the dataset's declared `columns` to numbers (e.g. the generalisation level chosen per column)."""
    declared = set(columns)
    out = []
    for k, v in sorted(payload.items()):
        if isinstance(v, bool | int | float):
            out.append(f"{k}={number(v)}")
        elif (isinstance(v, Mapping) and v and set(v) <= declared
              and all(isinstance(x, bool | int | float) for x in v.values())):
            out += [f"{k}[{c}]={number(x)}" for c, x in sorted(v.items())]
    return ", ".join(out) or "-"


def gate_kinds(ev: RunEvidence, family: str) -> list[str]:
    """Result kinds of one gate family: `privacy`, `bias`, and their variants (`bias_<output>` on synthetic rows)."""
    return sorted(k for k in ev.results if k == family or k.startswith(f"{family}_"))


def outcome_rows(ev: RunEvidence, kinds: Iterable[str]) -> list[tuple[Cell, ...]]:
    """Every outcome of these gates, failures first."""
    rows = []
    for kind in kinds:
        for o in ev.results[kind].get("results") or []:
            threshold = o.get("threshold")
            rows.append((not o.get("success"), (
                Verdict(bool(o.get("success"))), Code(kind), Code(o.get("expectation") or "-"),
                o.get("description") or "-", Code(", ".join(o.get("columns") or [])) if o.get("columns") else "-",
                observed_text(o.get("observed")), Code(number(threshold)) if threshold not in (None, {}) else "-",
                Code(counts_text(o.get("details"))), Code(o.get("clause") or "-"))))
    return [row for _, row in sorted(rows, key=lambda r: not r[0])]


def gate_lines(ev: RunEvidence, kinds: Iterable[str]) -> list[Block]:
    out: list[Block] = []
    for kind in kinds:
        r = ev.results[kind]
        results = r.get("results") or []
        failed = sum(1 for o in results if not o.get("success"))
        out.append(para("Gate ", Code(kind), ": ", Verdict(bool(r.get("passed"))), f", {len(results)} expectation(s), "
                        f"{failed} failed."))
    return out


def risks(loaded: LoadedAgreement, ds: Dataset, ev: RunEvidence) -> Section:
    blocks: list[Block] = []
    mapped = ev.run_entries("schema.mapped")
    if mapped:
        rows = sum(int((x.payload or {}).get("rows") or 0) for x in mapped)
        # a partitioned dataset maps each partition: the same undeclared column counts once (by its position)
        undeclared = len({p for x in mapped for p in ((x.payload or {}).get("undeclared_columns") or {}).get(
            "positions") or []})
        blocks.append(para(f"Rows after schema mapping: {rows}; undeclared columns dropped: {undeclared}."))
    for x in ev.run_entries("rows.suppressed") + ev.run_entries("classes.counted"):
        blocks.append(para("Suppression (", Code(x.event), "): ", Code(numbers_text(x.payload or {}, ds.columns)), "."))
    kinds = gate_kinds(ev, PRIVACY)
    if kinds:
        blocks += gate_lines(ev, kinds)
        blocks.append(table(OUTCOME_HEADERS, outcome_rows(ev, kinds)))
    else:
        blocks.append(para("No privacy gate result for this run: it has not reached check_privacy, or stopped "
                           "before it."))
    blocks.append(heading("PII scan"))
    blocks += pii_findings(loaded, ev)
    return Section("risks", "Measured privacy risks", tuple(blocks))


def pii_findings(loaded: LoadedAgreement, ev: RunEvidence) -> list[Block]:
    """PII where the agreement declares none: from the run's scan report, or (a partitioned dataset scans each
    partition into its own report) from the ledger's policy.violation entries, one per partition where found."""
    scans = ev.run_entries("pii.scanned")
    if ev.pii is not None:
        findings = ev.pii.get("findings") or []
    elif scans:
        findings = [x.payload or {} for x in ev.run_entries("policy.violation")]
    else:
        return [para("No PII scan for this run.")]
    if not findings:
        return [para("The scan found no PII where the agreement declares none.")]
    return [para(f"{len(findings)} finding(s) of PII the agreement does not declare; privacy.on_undeclared_pii says ",
                 Code(loaded.agreement.privacy.on_undeclared_pii), ". Each finding is a ledger entry and an incident."),
            table(["column", "finding", "declared", "found", "share", "in"], [
                (Code(f.get("column") or "-"), Code(f.get("kind") or "-"), f.get("declared") or "-",
                 f.get("found") or "-", number(f.get("share")), "free text" if f.get("free_text") else "values")
                for f in findings])]


def _privacy_measures(privacy: Mapping[str, Any]) -> list[tuple[Cell, ...]]:
    """Scalar measures, and the score of each structured one (DCR protections, disclosure protection, ...)."""
    rows: list[tuple[Cell, ...]] = []
    for name, value in sorted(privacy.items()):
        if isinstance(value, bool | int | float):
            rows.append((Code(name), number(value)))
        elif isinstance(value, Mapping) and "score" in value and is_number(value["score"]):
            rows.append((Code(name), number(value["score"])))
    return rows


def synthetic(loaded: LoadedAgreement, ds: Dataset, ev: RunEvidence) -> Section:
    declared = [o.id for o in loaded.agreement.outputs_for(ds.id) if o.kind == "synthetic"]
    outputs = sorted(set(declared) | set(ev.synthetic))
    if not outputs:
        return Section("synthetic", "Synthetic data", (para("This dataset has no synthetic output."),))
    blocks: list[Block] = []
    for output in outputs:
        report = ev.synthetic.get(output)
        if report is None:
            blocks += [heading("Output ", Code(output), " ", Verdict(None)),
                       para("Not measured in this run (check_synthetic has not run, or stopped before writing).")]
            continue
        blocks.append(heading("Output ", Code(output), " ", Verdict(bool(report.get("passed")))))
        rows = report.get("rows") or {}
        if rows:
            blocks.append(para("Rows: ", Code(numbers_text(rows)), "."))
        blocks.append(table(["result", "measure", "observed", "must be", "clause"], [
            (Verdict(bool(c.get("passed"))), Code(c.get("metric") or "-"), observed_text(c.get("observed")),
             Code(f"{c.get('op') or ''} {number(c.get('threshold'))}".strip()), c.get("clause") or "-")
            for c in report.get("checks") or []]))
        measures = _privacy_measures(report.get("privacy") or {})
        if measures:
            blocks.append(table(["privacy measure", "value"], measures))
        roles = report.get("columns") or []
        if roles:
            blocks.append(table(["column", "category", "synthesised as"],
                                [(Code(c.get("name") or "-"), c.get("category") or "-", c.get("role") or "-")
                                 for c in roles]))
    return Section("synthetic", "Synthetic data: privacy scores", tuple(blocks))


def _epsilon(entries: Iterable[Any]) -> float:
    return sum(float(v) for x in entries if isinstance(v := (x.payload or {}).get("epsilon"), int | float)
               and not isinstance(v, bool))


def differential_privacy(loaded: LoadedAgreement, ds: Dataset, ev: RunEvidence) -> Section:
    spent = [x for x in ev.entries if x.event.startswith(DP_PREFIX)]
    budget = getattr(loaded.agreement.privacy, "dp_budget", None)
    blocks: list[Block] = []
    if budget is not None:
        shown = budget.model_dump(mode="json", exclude_none=True) if hasattr(budget, "model_dump") else budget
        blocks.append(para("Budget agreed (privacy.dp_budget): ", Code(number(shown)), "."))
    if not spent:
        blocks.append(para("No differentially private output: the ledger holds no dp.* entry for this agreement."))
        return Section("dp", "Differential privacy: epsilon spent", tuple(blocks))
    this_run = [x for x in spent if (x.payload or {}).get("run_id") == ev.run_id]
    blocks.append(para(f"Epsilon spent by this run: {number(_epsilon(this_run))}; by every run of this agreement: "
                       f"{number(_epsilon(spent))}."))
    blocks.append(table(["ledger entry", "event", "run", "dataset", "output", "numbers"], [
        (str(x.index), Code(x.event),
         "this run" if (x.payload or {}).get("run_id") == ev.run_id else Code(str((x.payload or {}).get("run_id") or "-")),
         Code(str((x.payload or {}).get("dataset") or "-")), Code(str((x.payload or {}).get("output") or "-")),
         Code(numbers_text(x.payload or {}))) for x in spent]))
    return Section("dp", "Differential privacy: epsilon spent", tuple(blocks))


def bias(loaded: LoadedAgreement, ds: Dataset, ev: RunEvidence) -> Section:
    checks = [b for b in loaded.agreement.bias_checks if b.dataset == ds.id]
    kinds = gate_kinds(ev, BIAS)
    blocks: list[Block] = []
    if not checks and not kinds:
        blocks.append(para("The agreement declares no bias check for this dataset."))
    elif not kinds:
        blocks.append(para("No bias gate result for this run: it has not reached check_bias, or stopped before it."))
    else:
        blocks.append(para("Group labels and per-group rates are in the run's review (encrypted like the data); "
                           "here each measure with its threshold."))
        blocks += gate_lines(ev, kinds)
        blocks.append(table(OUTCOME_HEADERS, outcome_rows(ev, kinds)))
    return Section("bias", "Bias", tuple(blocks))


def other_gates(ev: RunEvidence) -> Section:
    kinds = sorted(k for k in ev.results if k not in gate_kinds(ev, PRIVACY) + gate_kinds(ev, BIAS))
    rows: list[tuple[Cell, ...]] = []
    for kind in kinds:
        results = ev.results[kind].get("results") or []
        rows.append((Code(kind), Verdict(bool(ev.results[kind].get("passed"))),
                     f"{sum(1 for o in results if not o.get('success'))} of {len(results)} failed"))
    return Section("gates", "Other gates", (table(["gate", "result", "expectations"], rows),) if rows
                   else (para("No other gate result for this run."),))


def open_incidents(entries: Iterable[Any]) -> list[Any]:
    """incident.opened entries that no acknowledgement names, oldest first."""
    entries = list(entries)
    answered = {v for x in entries if x.event in ACKNOWLEDGED for k in ACK_KEYS
                if isinstance(v := (x.payload or {}).get(k), int)}
    return [x for x in entries if x.event == INCIDENT_OPENED and x.index not in answered]


def incidents(loaded: LoadedAgreement, ds: Dataset, ev: RunEvidence) -> Section:
    found = open_incidents(ev.entries)
    if not found:
        return Section("incidents", "Open incidents", (para("No open incident for this agreement."),))
    mine = [x for x in found if (x.payload or {}).get("run_id") == ev.run_id and (x.payload or {}).get("dataset") == ds.id]
    rows: list[tuple[Cell, ...]] = []
    for x in found:
        # the kind names the clause; the summary is an error message, the one text here a step could have
        # filled with a value, so the assessment leaves it to the Incidents page
        p = x.payload or {}
        rows.append((str(x.index), str(p.get("opened_at") or x.timestamp), str(p.get("notify_by") or "-"),
                     Code(str(p.get("kind") or "-")), Code(str(p.get("dataset") or "-")),
                     "this run" if p.get("run_id") == ev.run_id else Code(str(p.get("run_id") or "-"))))
    return Section("incidents", "Open incidents", (
        para(f"{len(found)} incident(s) of this agreement not acknowledged; {len(mine)} from this run of this "
             "dataset. The notification deadline runs from each incident's opening; the Incidents page has the "
             "details."),
        table(["ledger entry", "opened", "notify by", "kind", "dataset", "run"], rows)))


__all__ = ["ACKNOWLEDGED", "DP_PREFIX", "bias", "differential_privacy", "incidents", "open_incidents", "other_gates",
           "risks", "synthetic"]
