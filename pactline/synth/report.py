"""The synthetic-data report a steward reads, and the gate that stops a release.

Gates come from the agreement's privacy.synthetic thresholds; leaked identifiers must be zero
whatever the thresholds say. A metric that could not be computed fails its gate: a privacy
gate that cannot measure does not pass.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pactline.synth.errors import SyntheticGateFailed


@dataclass(frozen=True)
class Check:
    """One gate: observed value against the agreement's threshold."""

    metric: str
    observed: float | None  # None when the metric could not be computed
    threshold: float
    op: Literal[">=", "<="]
    clause: str  # where the threshold comes from in the agreement

    @property
    def passed(self) -> bool:
        if self.observed is None or math.isnan(self.observed):
            return False
        return self.observed >= self.threshold if self.op == ">=" else self.observed <= self.threshold

    def describe(self) -> str:
        seen = "not computable" if self.observed is None else _fmt(self.observed)
        needs = "a holdout to compare with" if math.isnan(self.threshold) else f"{self.op} {_fmt(self.threshold)}"
        return f"{self.metric} = {seen}, needs {needs} ({self.clause})"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "observed": _clean(self.observed), "threshold": _clean(self.threshold),
                "passed": self.passed}


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.4f}"


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf become None, numpy scalars become Python numbers, tuples become lists."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class SynthReport:
    """Quality, diagnostic and privacy of one synthetic table against the real data."""

    dataset: str
    rows: dict[str, int]  # real_train, real_holdout, synthetic
    columns: list[dict[str, Any]]  # the column plan: role, sdtype and why
    quality: dict[str, Any]  # score, column_shapes, column_pair_trends, per_column
    diagnostic: dict[str, Any]  # score, properties
    privacy: dict[str, Any]  # dcr_baseline_protection, dcr_overfitting_protection, disclosure_protection,
    #                          exact_copies, leaked_identifiers, leaked_by_column
    checks: list[Check]
    sample_sizes: dict[str, int]  # rows each metric was computed on
    seconds: dict[str, float]
    synthesizer: dict[str, Any] | None = None  # TrainedSynthesizer.describe(), when given
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        out = {k: _clean(v) for k, v in asdict(self).items() if k != "checks"}
        out["checks"] = [c.to_dict() for c in self.checks]
        out["passed"] = self.passed
        return out


def gate(report: SynthReport) -> None:
    """Raise SyntheticGateFailed naming each failed metric, its observed value and threshold."""
    if not report.passed:
        raise SyntheticGateFailed(report.failed, report.dataset)
