"""What every gate step shares: its reports folder, its incident, its recorded verdict.

Each check writes its result, the GX Data Docs and the steward summary (summary.html/json, rebuilt
from every check of the run so far) under <agreement>/reports/<dataset>/<run>/checks/. A failed
gate records the failure and an incident, then raises CheckFailed: the release does not happen.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pactline.pipeline.context import RunContext
from pactline.store.layout import CHECKS_DIR, RESULT_PREFIX, SUMMARY_HTML, SUMMARY_JSON, check_result


@contextlib.contextmanager
def local_reports(ctx: RunContext, dataset_id: str) -> Iterator[Path]:
    """A scratch folder for GX and the summary. Reports hold data (masked rows, group names), so
    what lands in the data root goes through it and is encrypted with the run's reports key; the
    folder starts with the run's earlier check results so the summary covers them all."""
    rel = ctx.reports(dataset_id, CHECKS_DIR)
    base = ctx.root.path(rel).rstrip("/") + "/"
    with tempfile.TemporaryDirectory(prefix="pactline-reports-") as tmp:
        if ctx.root.exists(rel):
            for full in ctx.root.fs.find(base):
                name = full[len(base):] if full.startswith(base) else full.rsplit("/", 1)[-1]
                if name.startswith(RESULT_PREFIX):
                    (Path(tmp) / name).write_bytes(ctx.root.read_bytes(f"{rel}/{name}"))
        try:
            yield Path(tmp)
        finally:  # a failed gate raises inside: its reports are the evidence the steward and the incident need
            for path in sorted(p for p in Path(tmp).rglob("*") if p.is_file()):
                ctx.root.write_bytes(f"{rel}/{path.relative_to(tmp).as_posix()}", path.read_bytes())


def open_incident(ctx: RunContext, dataset_id: str, kind: str, summary: str, report: str) -> None:
    """Every violation and failed gate starts the agreement's notification clock."""
    hours = ctx.agreement.incident_response.notification_deadline_hours
    now = dt.datetime.now(dt.UTC)
    ctx.record("incident.opened", dataset=dataset_id, kind=kind, summary=summary[:1000], report=report,
               opened_at=now.isoformat(), notify_by=(now + dt.timedelta(hours=hours)).isoformat(),
               contacts=[c.email for c in ctx.agreement.incident_response.contacts])


def finish(ctx: RunContext, dataset_id: str, kind: str, result: Any, out_dir: Path) -> dict[str, Any]:
    from pactline.checks import CheckFailed, CheckResult, write_summary

    (out_dir / check_result(kind)).write_text(result.to_json(), encoding="utf-8")
    everything = {p.stem.removeprefix(RESULT_PREFIX): CheckResult.from_dict(json.loads(p.read_text()))
                  for p in sorted(out_dir.glob(check_result("*")))}
    write_summary(everything, out_dir, agreement=ctx.loaded, dataset_id=dataset_id, run_id=ctx.run_id)
    rel = ctx.reports(dataset_id, CHECKS_DIR)
    failures = [o.describe() for o in result.failures]
    ctx.record("check.result", dataset=dataset_id, check=kind, passed=result.passed, suite=result.suite,
               expectations=len(result.results), failures=failures[:20], summary=f"{rel}/{SUMMARY_HTML}")
    out = {"dataset": dataset_id, "check": kind, "passed": result.passed, "suite": result.suite,
           "failures": failures, "summary": f"{rel}/{SUMMARY_HTML}", "summary_json": f"{rel}/{SUMMARY_JSON}"}
    if not result.passed:
        open_incident(ctx, dataset_id, f"gate.{kind}", result.failures_message(), f"{rel}/{SUMMARY_HTML}")
        raise CheckFailed(result)
    return out
