"""Feature-leakage expectations (privacy.feature_leakage): a released column that predicts the label on its own,
rows singled out by the columns an attacker may know, a column that reconstructs a dropped or pseudonymised
identifier.

GX custom expectations (registered on import) over custom metrics computed on the pandas batch with
pactline.checks.leakage; whether they pass is decided by pactline.checks.verdicts, shared with the partitioned
pipeline (pactline.pipeline.combine). Results hold scores and counts, never a value of the data; the raw
identifiers sit in the batch beside the released columns under pactline.checks.leakage.raw_column names and are
only counted.
"""

from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.core.metric_domain_types import MetricDomainTypes
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import BatchExpectation
from great_expectations.expectations.metrics.metric_provider import metric_value
from great_expectations.expectations.metrics.table_metric_provider import TableMetricProvider

from expectations.rendering import SentenceRenderer
from pactline.checks import leakage, verdicts


def _frame(execution_engine: PandasExecutionEngine, metric_domain_kwargs: dict, *columns: str) -> Any:
    df, _, _ = execution_engine.get_compute_domain(metric_domain_kwargs, MetricDomainTypes.TABLE)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        # no quotes and no colon: the runner withholds what a library message quotes (see pactline.withheld)
        raise ValueError(f"column(s) {', '.join(missing)} are not in the data")
    return df


class TableLabelLeakage(TableMetricProvider):
    metric_name = "table.pactline_label_leakage"
    value_keys = ("column", "label_column")

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(cls, execution_engine: PandasExecutionEngine, metric_domain_kwargs: dict,
                metric_value_kwargs: dict, **kwargs: Any) -> dict[str, Any]:
        column, label = metric_value_kwargs["column"], metric_value_kwargs["label_column"]
        df = _frame(execution_engine, metric_domain_kwargs, column, label)
        return leakage.label_scores(df[column], df[label])


class ExpectColumnToNotPredictLabel(SentenceRenderer, BatchExpectation):
    """On its own, the column predicts the label no better than agreed: single-feature AUC (binary label) at most
    `max_single_feature_auc`, normalised mutual information at most `max_normalised_mutual_information`."""

    column: str
    label_column: str
    max_single_feature_auc: float | None = 0.95
    max_normalised_mutual_information: float | None = 0.9

    threshold_keys: ClassVar[tuple[str, ...]] = ("max_single_feature_auc", "max_normalised_mutual_information")
    metric_dependencies = ("table.pactline_label_leakage",)
    success_keys = ("column", "label_column", "max_single_feature_auc", "max_normalised_mutual_information")
    sentence: ClassVar[str] = ("$column alone must predict $label_column with a single-feature AUC of at most "
                               "$max_single_feature_auc and a normalised mutual information of at most "
                               "$max_normalised_mutual_information.")

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None,
                  execution_engine: Any = None) -> dict[str, Any]:
        found = metrics["table.pactline_label_leakage"]
        v = verdicts.label_leakage(found["single_feature_auc"], found["normalised_mutual_information"],
                                   self.max_single_feature_auc, self.max_normalised_mutual_information)
        return {"success": v.success, "result": {"observed_value": v.observed,
                                                 "details": {"rows": found["rows"], **v.details}}}


class TableUniqueRows(TableMetricProvider):
    metric_name = "table.pactline_unique_rows"
    value_keys = ("quasi_identifiers",)

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(cls, execution_engine: PandasExecutionEngine, metric_domain_kwargs: dict,
                metric_value_kwargs: dict, **kwargs: Any) -> dict[str, int]:
        columns = list(metric_value_kwargs["quasi_identifiers"])
        return leakage.unique_rows(_frame(execution_engine, metric_domain_kwargs, *columns), columns)


class ExpectUniqueRowShareToBeAtMost(SentenceRenderer, BatchExpectation):
    """At most `max_share` of the rows have a combination of `quasi_identifiers` (the columns an attacker may know
    about a person: released quasi-identifiers, protected attributes, ...) that no other row has."""

    quasi_identifiers: list[str]
    max_share: float = 0.05

    threshold_keys: ClassVar[tuple[str, ...]] = ("max_share",)
    metric_dependencies = ("table.pactline_unique_rows",)
    success_keys = ("quasi_identifiers", "max_share")
    sentence: ClassVar[str] = ("At most $max_share of the rows may be the only one with their combination of "
                               "$quasi_identifiers.")

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None,
                  execution_engine: Any = None) -> dict[str, Any]:
        found = metrics["table.pactline_unique_rows"]
        v = verdicts.unique_row_share(found["unique_rows"], found["rows"], self.max_share)
        return {"success": v.success, "result": {"observed_value": v.observed, "details": {**found, **v.details}}}


class TableIdentifierMapping(TableMetricProvider):
    metric_name = "table.pactline_identifier_mapping"
    value_keys = ("column", "identifiers", "one_to_one")
    default_kwarg_values = {"one_to_one": True}  # GX leaves a parameter at its default out of the kwargs

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(cls, execution_engine: PandasExecutionEngine, metric_domain_kwargs: dict,
                metric_value_kwargs: dict, **kwargs: Any) -> dict[str, dict[str, Any]]:
        column, identifiers = metric_value_kwargs["column"], list(metric_value_kwargs["identifiers"])
        df = _frame(execution_engine, metric_domain_kwargs, column, *map(leakage.raw_column, identifiers))
        return {name: identifier_finding(df[column], df[leakage.raw_column(name)],
                                         one_to_one=metric_value_kwargs.get("one_to_one") is not False)
                for name in identifiers}


def identifier_finding(column: Any, identifier: Any, *, one_to_one: bool = True) -> dict[str, Any]:
    """One column against one raw identifier of the same rows: the mapping counts, whether it is one-to-one (when
    asked), and for text, how many rows carry their own identifier."""
    counts = leakage.identifier_mapping(column, identifier, carried=leakage.textual(column))
    return {**counts, "one_to_one": one_to_one and verdicts.one_to_one(counts["pairs"], counts["distinct_column"],
                                                                       counts["distinct_identifier"], counts["rows"])}


class ExpectColumnToNotRevealIdentifiers(SentenceRenderer, BatchExpectation):
    """The column reconstructs none of the raw `identifiers` of the same rows: it does not map one-to-one onto one
    (unless `one_to_one` is false, as for free text) and, if it is text, holds a row's own identifier in at most
    `max_carried_rate` of its rows."""

    column: str
    identifiers: list[str]
    one_to_one: bool = True
    max_carried_rate: float | None = 0.0

    threshold_keys: ClassVar[tuple[str, ...]] = ("max_carried_rate",)
    metric_dependencies = ("table.pactline_identifier_mapping",)
    success_keys = ("column", "identifiers", "one_to_one", "max_carried_rate")
    sentence: ClassVar[str] = ("$column must not reconstruct $identifiers: no one-to-one mapping, and at most "
                               "$max_carried_rate of its rows holding their own identifier.")

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None,
                  execution_engine: Any = None) -> dict[str, Any]:
        found = metrics["table.pactline_identifier_mapping"]
        v = verdicts.identifier_leakage(found, self.max_carried_rate)
        return {"success": v.success, "result": {"observed_value": v.observed,
                                                 "details": {"identifiers": found, **v.details}}}
