"""Bias expectations on a protected attribute and a binary label: representation, disparate
impact, demographic-parity difference, and drift of all of these from the raw data.

The numbers come from pactline.checks.metrics (Fairlearn); whether they pass is decided by
pactline.checks.verdicts, which the partitioned pipeline calls on its summed aggregates too. The drift
expectation carries the raw data's metrics as its `reference`, so the suite validating the released
batch documents the baseline it was compared with.
"""

from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.core.metric_domain_types import MetricDomainTypes
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import BatchExpectation
from great_expectations.expectations.metrics.metric_provider import metric_value
from great_expectations.expectations.metrics.table_metric_provider import TableMetricProvider

from expectations.rendering import SentenceRenderer
from pactline.checks import verdicts
from pactline.checks.metrics import GroupMetrics, group_metrics

Label = bool | int | float | str


class TableGroupMetrics(TableMetricProvider):
    metric_name = "table.pactline_group_metrics"
    value_keys = ("column", "label_column", "positive", "min_group_size")
    default_kwarg_values = {"label_column": None, "positive": True, "min_group_size": 1}

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(cls, execution_engine: PandasExecutionEngine, metric_domain_kwargs: dict,
                metric_value_kwargs: dict, **kwargs: Any) -> dict[str, Any]:
        df, _, _ = execution_engine.get_compute_domain(metric_domain_kwargs, MetricDomainTypes.TABLE)
        v = metric_value_kwargs
        return group_metrics(df, v["column"], v.get("label_column"), v.get("positive"),
                             v.get("min_group_size") or 1).to_dict()


class _GroupExpectation(SentenceRenderer, BatchExpectation):
    """Shared fields: the protected attribute (`column`) and, for rates, the label and its positive value."""

    column: str
    label_column: str | None = None
    positive: Label = True
    min_group_size: int = 1

    metric_dependencies = ("table.pactline_group_metrics",)

    def _metrics(self, metrics: dict) -> GroupMetrics:
        return GroupMetrics.from_dict(metrics["table.pactline_group_metrics"])

    @staticmethod
    def _rates(m: GroupMetrics) -> dict[str, Any]:
        return {"groups": {g: {"count": s.count, "share": s.share, "labelled": s.labelled, "positives": s.positives,
                               "positive_rate": s.positive_rate} for g, s in m.groups.items()},
                "rows": m.rows, "disparate_impact": m.disparate_impact, "parity_difference": m.parity_difference,
                **({"note": m.note} if m.note else {})}

    @staticmethod
    def _result(verdict: verdicts.Verdict, before: dict[str, Any] | None = None,
                after: dict[str, Any] | None = None) -> dict[str, Any]:
        """GX's result of a verdict: its success and observed value; its details between `before` and `after`."""
        details = {**(before or {}), **verdict.details, **(after or {})}
        return {"success": verdict.success, "result": {"observed_value": verdict.observed, "details": details}}


class ExpectGroupSharesToBeAtLeast(_GroupExpectation):
    """Every group of the protected attribute (nulls included, as '(missing)') has at least `min_share` of rows.
    Given the raw data's groups (`raw_groups`), each counts: one with no row here fails by name."""

    min_share: float = 0.0
    raw_groups: list[str] | None = None
    threshold_keys: ClassVar[tuple[str, ...]] = ("min_share",)

    success_keys = ("column", "label_column", "positive", "min_group_size", "min_share", "raw_groups")
    sentence: ClassVar[str] = "Each group of $column must hold at least $min_share of the rows."

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None,
                  execution_engine: Any = None) -> dict[str, Any]:
        m = self._metrics(metrics)
        return self._result(verdicts.group_share(m, self.min_share, self.raw_groups or ()), self._rates(m))


class ExpectDisparateImpactToBeAtLeast(_GroupExpectation):
    """Lowest group positive rate divided by the highest is at least `min_ratio` (the four-fifths rule at 0.8)."""

    min_ratio: float = 0.8
    threshold_keys: ClassVar[tuple[str, ...]] = ("min_ratio",)

    success_keys = ("column", "label_column", "positive", "min_group_size", "min_ratio")
    sentence: ClassVar[str] = ("Disparate impact of $label_column across $column (lowest positive rate / highest) "
                               "must be at least $min_ratio.")

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None,
                  execution_engine: Any = None) -> dict[str, Any]:
        m = self._metrics(metrics)
        return self._result(verdicts.disparate_impact(m, self.min_ratio), self._rates(m))


class ExpectParityDifferenceToBeAtMost(_GroupExpectation):
    """Highest group positive rate minus the lowest (demographic-parity difference) is at most `max_difference`."""

    max_difference: float = 0.2
    threshold_keys: ClassVar[tuple[str, ...]] = ("max_difference",)

    success_keys = ("column", "label_column", "positive", "min_group_size", "max_difference")
    sentence: ClassVar[str] = ("Demographic-parity difference of $label_column across $column (highest positive "
                               "rate - lowest) must be at most $max_difference.")

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None,
                  execution_engine: Any = None) -> dict[str, Any]:
        m = self._metrics(metrics)
        return self._result(verdicts.parity_difference(m, self.max_difference), self._rates(m))


class ExpectGroupMetricsToNotDrift(_GroupExpectation):
    """Each group's share and positive rate, and the disparate impact and parity difference, moved by at
    most `max_drift` from `reference` (the same metrics on the raw data)."""

    reference: dict
    max_drift: float = 0.05
    threshold_keys: ClassVar[tuple[str, ...]] = ("max_drift",)

    success_keys = ("column", "label_column", "positive", "min_group_size", "reference", "max_drift")
    sentence: ClassVar[str] = ("Group shares and positive rates of $label_column across $column, and their "
                               "disparate impact and parity difference, must not move by more than $max_drift "
                               "from the raw data.")

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None,
                  execution_engine: Any = None) -> dict[str, Any]:
        released = self._metrics(metrics)
        raw = GroupMetrics.from_dict(self.reference)
        return self._result(verdicts.drift(raw, released, self.max_drift),
                            after={"raw": self._rates(raw), "released": self._rates(released)})
