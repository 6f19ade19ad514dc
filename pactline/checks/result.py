"""What a check found, as data: one outcome per expectation, the verdict, and the gate.

Everything here is JSON-safe (`to_dict`) and free of values of the data: the expectations that
could see such values report counts, rates, positions and masked shapes only, and `without_values`
drops whatever a library would have quoted.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from pactline.errors import PactlineError


def json_safe(value: Any) -> Any:
    """Plain JSON types from numpy/pandas scalars, dates, tuples and sets; NaN becomes None."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        try:
            return json_safe(item())
        except (TypeError, ValueError):
            pass
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    return str(value)


# Result keys that hold values of the data rather than counts: GX's unexpected-value lists, and the
# equivalence classes named by their quasi-identifier values that earlier reports carried.
VALUE_KEYS = frozenset({"unexpected_list", "partial_unexpected_list", "partial_unexpected_counts",
                        "unexpected_index_list", "partial_unexpected_index_list", "unexpected_index_query",
                        "unexpected_rows", "partial_unexpected_rows", "value_counts", "smallest"})


def without_values(details: Mapping[str, Any] | None) -> dict[str, Any]:
    """An outcome's `details` without the keys that quote the data (see VALUE_KEYS)."""
    return {k: v for k, v in (details or {}).items() if k not in VALUE_KEYS}


def fmt(value: Any, *, none: str = "None", yes_no: bool = False) -> str:
    """Short human text for an observed value or threshold (`none` and `yes_no` choose how nothing
    and booleans read; the steward pages show "-" and yes/no)."""
    if value is None:
        return none
    if yes_no and isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={fmt(v, none=none, yes_no=yes_no)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        inner = ", ".join(fmt(v, none=none, yes_no=yes_no) for v in value[:10])
        return f"[{inner}{', ...' if len(value) > 10 else ''}]"
    return str(value)


@dataclass
class Outcome:
    """One expectation's result."""

    expectation: str  # GX expectation type, e.g. expect_column_values_to_be_between
    columns: list[str]
    observed: Any  # the number the threshold is compared with (None when it could not be computed)
    threshold: dict[str, Any]  # what the agreement demands, e.g. {"min": 0, "max": 365, "mostly": 1.0}
    success: bool
    details: dict[str, Any] = field(default_factory=dict)
    clause: str = ""  # where the threshold comes from in the agreement, e.g. quality_rules[2]
    description: str = ""  # one line a steward can read

    def describe(self) -> str:
        cols = f" on {', '.join(self.columns)}" if self.columns else ""
        clause = f" [{self.clause}]" if self.clause else ""
        observed = self.details.get("error") or f"observed {fmt(self.observed)}"
        return f"{self.expectation}{cols}{clause}: {observed}; threshold {fmt(self.threshold)}"


@dataclass
class CheckResult:
    kind: str  # quality, privacy or bias
    suite: str
    agreement_id: str
    dataset_id: str
    passed: bool
    results: list[Outcome] = field(default_factory=list)
    fingerprint: str | None = None
    run_id: str | None = None
    docs_index: str | None = None  # Data Docs index.html of this suite, when built
    extras: dict[str, Any] = field(default_factory=dict)  # e.g. bias: group metrics raw and released

    @property
    def failures(self) -> list[Outcome]:
        return [r for r in self.results if not r.success]

    def failures_message(self) -> str:
        """Why the gate failed: each failed expectation with its observed value and threshold."""
        if self.passed:
            return f"{self.kind} check of {self.dataset_id} passed ({len(self.results)} expectations)"
        lines = [f"{self.kind} check of dataset {self.dataset_id!r} failed ({len(self.failures)} of "
                 f"{len(self.results)} expectations, suite {self.suite}):"]
        lines += [f"  - {r.describe()}" for r in self.failures]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return json_safe(asdict(self))

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        d = dict(data)
        d["results"] = [Outcome(**r) for r in d.get("results", [])]
        return cls(**d)


class CheckFailed(PactlineError):
    """A quality, privacy or bias gate failed; `result` says which expectations and by how much."""

    def __init__(self, result: CheckResult):
        self.result = result
        super().__init__(result.failures_message())


def gate(result: CheckResult) -> CheckResult:
    """Stop the release when the check failed; otherwise hand the result on."""
    if not result.passed:
        raise CheckFailed(result)
    return result
