"""Model versions of a purpose as the ledger tells them: each evaluated version with its verdict, and whether a
steward promoted it to production or rejected it. The ledger is the only record; nothing else is kept."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

EVALUATED, REFUSED, PROMOTED, REJECTED = "model.evaluated", "model.refused", "model.promoted", "model.rejected"


@dataclass(frozen=True)
class ModelVersion:
    purpose: str
    model_type: str
    model_version: str
    iteration: int
    passed: bool
    evaluated_at: str
    status: str  # failed | passed (awaiting a steward) | promoted | rejected
    decided_by: str | None = None
    report: str | None = None
    dataset: str | None = None
    failed: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluated(ledger: Any, agreement_id: str, purpose: str | None = None) -> list[Any]:
    """The model.evaluated entries of an agreement (one purpose's), oldest first, under any of its versions."""
    return [x for x in ledger.entries(agreement_id=agreement_id, event=EVALUATED)
            if purpose is None or x.payload.get("purpose") == purpose]


def model_versions(ledger: Any, agreement_id: str, purpose: str | None = None) -> list[ModelVersion]:
    decisions: dict[tuple[str, str], tuple[str, str | None]] = {}
    for event, status in ((PROMOTED, "promoted"), (REJECTED, "rejected")):
        for x in ledger.entries(agreement_id=agreement_id, event=event):
            decisions[(x.payload.get("purpose"), x.payload.get("model_version"))] = (status, x.payload.get("user"))
    out = []
    for x in evaluated(ledger, agreement_id, purpose):
        p = x.payload
        status, user = decisions.get((p["purpose"], p["model_version"]), ("passed" if p["passed"] else "failed", None))
        out.append(ModelVersion(purpose=p["purpose"], model_type=p["model_type"], model_version=p["model_version"],
                                iteration=p["iteration"], passed=p["passed"], evaluated_at=x.timestamp, status=status,
                                decided_by=user, report=p.get("report"), dataset=p.get("dataset"),
                                failed=tuple(p.get("failed") or ())))
    return out
