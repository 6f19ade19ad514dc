"""What one run of one dataset left behind for its privacy impact assessment: the gate results, the PII scan and
the synthetic scores under its reports folder (read through the data root, so encrypted reports are decrypted),
and the agreement's ledger entries (incidents, differentially private spending, suppression, earlier PIAs)."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pactline.store.layout import CHECKS_DIR, PII_SCAN, RESULT_PREFIX, SYNTHETIC_PREFIX, reports_folder, safe_run_id


@dataclass
class RunEvidence:
    agreement_id: str
    dataset: str
    run_folder: str
    run_id: str | None = None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # gate kind -> its CheckResult as a dict
    synthetic: dict[str, dict[str, Any]] = field(default_factory=dict)  # output id -> its synthetic report
    pii: dict[str, Any] | None = None
    entries: list[Any] = field(default_factory=list)  # the agreement's ledger entries, oldest first
    problems: list[str] = field(default_factory=list)  # reports that could not be read (named, never quoted)

    @property
    def folder(self) -> str:
        return reports_folder(self.agreement_id, self.dataset, self.run_folder)

    @property
    def found(self) -> bool:
        """Whether the run left anything for this dataset (reports, or ledger entries of its own)."""
        return bool(self.results or self.synthetic or self.pii is not None or self.run_entries())

    def run_entries(self, event: str | None = None) -> list[Any]:
        """This run's entries about this dataset (optionally one event)."""
        if self.run_id is None:
            return []
        return [x for x in self.entries if (x.payload or {}).get("run_id") == self.run_id
                and (x.payload or {}).get("dataset") == self.dataset and (event is None or x.event == event)]


def _read(root: Any, rel: str, problems: list[str]) -> dict[str, Any] | None:
    try:
        if not root.exists(rel):
            return None
        data = json.loads(root.read_bytes(rel))
    except Exception as err:  # a damaged report is named in the assessment, never quoted, and stops nothing
        problems.append(f"{posixpath.basename(rel)} cannot be read ({type(err).__name__})")
        return None
    return data if isinstance(data, dict) else None


def _names(root: Any, rel: str) -> list[str]:
    try:
        return sorted(root.ls(rel)) if root.exists(rel) else []
    except FileNotFoundError:
        return []


def load_evidence(root: Any, agreement_id: str, dataset: str, run: str, entries: Iterable[Any],
                  run_id: str | None = None) -> RunEvidence:
    """The reports of `run` (a run id or its folder name) for `dataset`, and `entries` (the agreement's ledger)."""
    ev = RunEvidence(agreement_id, dataset, safe_run_id(run), run_id,
                     entries=[x for x in entries if x.agreement_id == agreement_id])
    checks = f"{ev.folder}/{CHECKS_DIR}"
    for name in _names(root, checks):
        if name.startswith(RESULT_PREFIX) and name.endswith(".json"):
            data = _read(root, f"{checks}/{name}", ev.problems)
            if data is not None:
                ev.results[str(data.get("kind") or name[len(RESULT_PREFIX):-5])] = data
    for name in _names(root, ev.folder):
        if name.startswith(SYNTHETIC_PREFIX) and name.endswith(".json"):
            data = _read(root, f"{ev.folder}/{name}", ev.problems)
            if data is not None:
                ev.synthetic[str(data.get("output") or name[len(SYNTHETIC_PREFIX):-5])] = data
    ev.pii = _read(root, f"{ev.folder}/{PII_SCAN}", ev.problems)
    if ev.run_id is None:  # the page knows the folder only; the reports name the run they belong to
        found = [d.get("run_id") for d in [*ev.results.values(), ev.pii or {}] if d.get("run_id")]
        ev.run_id = str(found[0]) if found else None
    if ev.run_id is None:  # no report yet (the run stopped early): its ledger entries still name it
        ev.run_id = next((str(x.payload["run_id"]) for x in ev.entries if (x.payload or {}).get("run_id")
                          and safe_run_id(str(x.payload["run_id"])) == ev.run_folder), None)
    return ev


__all__ = ["RunEvidence", "load_evidence"]
