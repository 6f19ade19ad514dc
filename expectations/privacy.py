"""Privacy expectations: no residual PII in released columns, k-anonymity, l-diversity, re-identification risk.

They are GX custom expectations (registered on import) backed by custom metrics computed on the
pandas batch; whether they pass is decided by pactline.checks.verdicts (shared with the partitioned
pipeline). None of them puts a value of the data in its result: residual PII is reported by
row, entity and count (an example's shape at most: letters x/X, digits 9, PII spans as
placeholders), equivalence classes by counts and size histograms, never by their quasi-identifier
values (the rarest classes are the people most at risk) nor their sensitive values.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from great_expectations.core.metric_domain_types import MetricDomainTypes
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import BatchExpectation, ColumnAggregateExpectation
from great_expectations.expectations.metrics.column_aggregate_metric_provider import ColumnAggregateMetricProvider
from great_expectations.expectations.metrics.metric_provider import metric_value
from great_expectations.expectations.metrics.table_metric_provider import TableMetricProvider

from expectations.rendering import SentenceRenderer
from pactline.checks import verdicts
from pactline.checks.risk import MEASURES, reidentification_risk
from pactline.protect.suppression import size_histogram

MISSING = "(missing)"
PLACEHOLDER = r"<[A-Z][A-Z0-9_]*>"  # what redact / redact_text leave behind, e.g. <PERSON>
PSEUDONYM = r"\b[A-Za-z0-9_-]{0,16}?[0-9a-f]{16,64}\b"  # prefix + HMAC hex, e.g. cust_3f2a...
# what mask leaves: "****@example.com", "+** ** *****67", "**** **** **** 1111" (a kept domain or a few
# kept characters identify no one; the agreement allowed exactly that)
MASKED = r"[+(]?\*+(?:[ .()+\-]*\*+)*(?:@[\w.-]+|[ .()\-]*\w{0,4}\b)"
DEFAULT_IGNORE = [PLACEHOLDER, PSEUDONYM, MASKED]
DEFAULT_SCORE = 0.4  # the pii engine's default threshold
# Identifier-shaped entities found by patterns and checksums. Structured text columns (codes, ids,
# masked values) are scanned for these only: NER on "J44.1" or "T900001" finds names that are not.
STRUCTURED_ENTITIES = ["CREDIT_CARD", "EMAIL_ADDRESS", "IBAN_CODE", "IP_ADDRESS", "PHONE_NUMBER", "URL", "US_SSN"]
NOT_PERSONAL = {"ORGANIZATION"}  # an organisation's name is not personal data


def residual_pii(values: pd.Series, *, entities: list[str] | None = None, ignore_patterns: list[str] | None = None,
                 score_threshold: float = DEFAULT_SCORE, max_examples: int = 5) -> dict[str, Any]:
    """PII still present in `values`: rows with a finding, their rate, and masked examples.

    Ignored spans (placeholders, pseudonym tokens) are blanked to spaces of the same length before
    the scan, so offsets still match the original text when the examples are redacted.
    """
    from pactline.pii.engine import get_engine
    from pactline.pii.report import mask_free_text
    from pactline.pii.text import find_spans, replace_spans

    engine = get_engine()
    wanted = sorted((set(entities) if entities is not None else engine.entities - NOT_PERSONAL) & engine.entities)
    present = values[values.notna()]
    texts = present.astype(str)
    codes, uniques = pd.factorize(texts, sort=False)
    patterns = ignore_patterns if ignore_patterns is not None else DEFAULT_IGNORE
    ignore = re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None
    cleaned = [ignore.sub(lambda m: " " * len(m.group()), u) if ignore else u for u in uniques]
    spans = find_spans(cleaned, engine, wanted, threshold=score_threshold) if len(cleaned) and wanted else []
    spans = spans or [[] for _ in cleaned]
    hit = np.array([bool(s) for s in spans], dtype=bool)
    occurrences = np.bincount(codes, minlength=len(uniques)) if len(uniques) else np.zeros(0, int)
    counts: Counter[str] = Counter()
    for hits, n in zip(spans, occurrences, strict=True):
        for h in hits:
            counts[h.entity] += int(n)
    row_hit = hit[codes] if len(codes) else np.zeros(0, dtype=bool)
    examples, shown = [], set()
    positions = np.flatnonzero(values.notna().to_numpy())  # position of each present value in the batch
    for pos, code in zip(positions[row_hit], codes[row_hit], strict=True):
        if len(examples) >= max_examples:
            break
        if code in shown:
            continue
        shown.add(code)
        hits = spans[code]
        examples.append({"row": int(pos) + 1, "entities": sorted({h.entity for h in hits}),
                         "masked": mask_free_text(replace_spans(uniques[code], hits))})
    rows_with = int(row_hit.sum())
    checked = len(present)
    return {"rows_checked": checked, "rows_with_pii": rows_with, "rate": verdicts.pii_rate(rows_with, checked),
            "entities_scanned": wanted, "entity_counts": dict(counts.most_common()), "examples": examples}


class ColumnResidualPii(ColumnAggregateMetricProvider):
    metric_name = "column.pactline_residual_pii"
    value_keys = ("entities", "ignore_patterns", "score_threshold", "max_examples")
    default_kwarg_values = {"entities": None, "ignore_patterns": None, "score_threshold": DEFAULT_SCORE,
                            "max_examples": 5}

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(cls, execution_engine: PandasExecutionEngine, metric_domain_kwargs: dict,
                metric_value_kwargs: dict, **kwargs: Any) -> dict[str, Any]:
        df, _, accessor = execution_engine.get_compute_domain(metric_domain_kwargs, MetricDomainTypes.COLUMN)
        v = metric_value_kwargs
        return residual_pii(df[accessor["column"]], entities=v.get("entities"),
                            ignore_patterns=v.get("ignore_patterns"),
                            score_threshold=v.get("score_threshold") or DEFAULT_SCORE,
                            max_examples=int(v.get("max_examples") or 5))


class ExpectColumnValuesToHaveNoResidualPii(SentenceRenderer, ColumnAggregateExpectation):
    """Share of non-null values in which Presidio still finds PII is at most `max_rate`.

    Not a map expectation on purpose: GX would list the unexpected (raw) values in its result.
    """

    max_rate: float = 0.0
    entities: list[str] | None = None
    ignore_patterns: list[str] = DEFAULT_IGNORE
    score_threshold: float = DEFAULT_SCORE
    max_examples: int = 5

    threshold_keys: ClassVar[tuple[str, ...]] = ("max_rate",)
    metric_dependencies = ("column.pactline_residual_pii",)
    success_keys = ("max_rate", "entities", "ignore_patterns", "score_threshold", "max_examples")
    sentence: ClassVar[str] = "$column: share of values with residual PII must be at most $max_rate."

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None,
                  execution_engine: Any = None) -> dict[str, Any]:
        found = metrics["column.pactline_residual_pii"]
        v = verdicts.residual_pii(found["rows_with_pii"], found["rows_checked"], self.max_rate)
        details = {**{k: x for k, x in found.items() if k != "rate"}, **v.details}
        return {"success": v.success, "result": {"observed_value": v.observed, "details": details}}


def _class_keys(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        # no quotes and no colon: the runner withholds what a library message quotes (see pactline.withheld)
        raise ValueError(f"column(s) {', '.join(missing)} are not in the data")
    # Text keys, nulls as their own value: an attacker can single out a null as well as a value.
    return pd.DataFrame({c: df[c].astype(object).map(lambda v: MISSING if pd.isna(v) else str(v))
                         for c in columns}).reset_index(drop=True)


def equivalence_classes(df: pd.DataFrame, quasi_identifiers: list[str], *, k: int = 2,
                        sensitive_column: str | None = None, l: int = 2,  # noqa: E741
                        max_examples: int = 5) -> dict[str, Any]:
    """Sizes of the groups of rows sharing all quasi-identifier values; with a sensitive column,
    also the number of distinct sensitive values in each group (distinct l-diversity).

    Counts only: `sizes_below_k` says how many classes have 1, 2, ... k-1 rows, `distinct_below_l`
    how many have 0, 1, ... l-1 distinct sensitive values; no class is named by its values.
    `max_examples` is accepted for suites built before, and ignored."""
    keys = _class_keys(df, quasi_identifiers)
    if len(keys) == 0:
        return {"rows": 0, "classes": 0, "min_size": None, "sizes_below_k": {}}
    grouped = keys.groupby(quasi_identifiers, sort=False, dropna=False)
    table = grouped.size().rename("size").to_frame()
    out: dict[str, Any] = {"rows": len(keys), "classes": len(table), "min_size": int(table["size"].min()),
                           "classes_below_k": int((table["size"] < k).sum()),
                           "rows_below_k": int(table.loc[table["size"] < k, "size"].sum()),
                           "sizes_below_k": size_histogram(table["size"].tolist(), below=k)}
    if sensitive_column is not None:
        if sensitive_column not in df.columns:
            raise ValueError(f"sensitive column {sensitive_column} is not in the data")
        sens = df[sensitive_column].reset_index(drop=True)
        table["distinct_sensitive"] = sens.groupby([keys[c] for c in quasi_identifiers], sort=False).nunique()
        table["distinct_sensitive"] = table["distinct_sensitive"].fillna(0).astype(int)
        out["min_distinct"] = int(table["distinct_sensitive"].min())
        out["classes_below_l"] = int((table["distinct_sensitive"] < l).sum())
        out["rows_below_l"] = int(table.loc[table["distinct_sensitive"] < l, "size"].sum())
        out["distinct_below_l"] = size_histogram(table["distinct_sensitive"].tolist(), below=l)
    return out


class TableEquivalenceClasses(TableMetricProvider):
    metric_name = "table.pactline_equivalence_classes"
    value_keys = ("quasi_identifiers", "k", "sensitive_column", "l", "max_examples")
    default_kwarg_values = {"k": 2, "sensitive_column": None, "l": 2, "max_examples": 5}

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(cls, execution_engine: PandasExecutionEngine, metric_domain_kwargs: dict,
                metric_value_kwargs: dict, **kwargs: Any) -> dict[str, Any]:
        df, _, _ = execution_engine.get_compute_domain(metric_domain_kwargs, MetricDomainTypes.TABLE)
        v = metric_value_kwargs
        return equivalence_classes(df, list(v["quasi_identifiers"]), k=int(v.get("k") or 2),
                                   sensitive_column=v.get("sensitive_column"), l=int(v.get("l") or 2),
                                   max_examples=int(v.get("max_examples") or 5))


class ExpectQuasiIdentifiersToBeKAnonymous(SentenceRenderer, BatchExpectation):
    """Every combination of quasi-identifier values is shared by at least `k` rows."""

    quasi_identifiers: list[str]
    k: int = 2
    max_examples: int = 5

    threshold_keys: ClassVar[tuple[str, ...]] = ("k",)
    metric_dependencies = ("table.pactline_equivalence_classes",)
    success_keys = ("quasi_identifiers", "k", "max_examples")
    sentence: ClassVar[str] = ("Every combination of the quasi-identifiers $quasi_identifiers must be shared by at "
                               "least $k rows (k-anonymity).")

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None,
                  execution_engine: Any = None) -> dict[str, Any]:
        found = metrics["table.pactline_equivalence_classes"]
        v = verdicts.k_anonymity(found["min_size"], self.k)  # an empty release singles no one out
        details = {**{k: x for k, x in found.items() if k != "min_size"}, **v.details}
        return {"success": v.success, "result": {"observed_value": v.observed, "details": details}}


class ExpectSensitiveColumnToBeLDiverse(SentenceRenderer, BatchExpectation):
    """Within every equivalence class the sensitive column takes at least `l` distinct values."""

    quasi_identifiers: list[str]
    sensitive_column: str
    l: int = 2  # noqa: E741 - the standard name of the parameter
    max_examples: int = 5

    threshold_keys: ClassVar[tuple[str, ...]] = ("l",)
    metric_dependencies = ("table.pactline_equivalence_classes",)
    success_keys = ("quasi_identifiers", "sensitive_column", "l", "max_examples")
    sentence: ClassVar[str] = ("$sensitive_column must take at least $l distinct values among the rows sharing "
                               "the quasi-identifiers $quasi_identifiers (l-diversity).")

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None,
                  execution_engine: Any = None) -> dict[str, Any]:
        found = metrics["table.pactline_equivalence_classes"]
        # min_distinct is None exactly when there are no rows (no class): nothing to tell apart, it passes
        v = verdicts.l_diversity(found.get("min_distinct"), self.l)
        skip = ("min_distinct", "classes_below_k", "rows_below_k", "sizes_below_k")
        details = {**{k: x for k, x in found.items() if k not in skip}, **v.details}
        return {"success": v.success, "result": {"observed_value": v.observed, "details": details}}


def class_sizes(df: pd.DataFrame, quasi_identifiers: list[str]) -> dict[str, Any]:
    """The size histogram of the equivalence classes over the quasi-identifiers ({"size": classes of that size}),
    with the rows and classes it counts: what re-identification risk is computed from (pactline.checks.risk).
    Counts only."""
    keys = _class_keys(df, quasi_identifiers)
    if len(keys) == 0:
        return {"rows": 0, "classes": 0, "sizes": {}}
    sizes = keys.groupby(quasi_identifiers, sort=False, dropna=False).size()
    return {"rows": len(keys), "classes": len(sizes), "sizes": size_histogram(sizes.tolist())}


class TableClassSizes(TableMetricProvider):
    metric_name = "table.pactline_class_sizes"
    value_keys = ("quasi_identifiers",)

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(cls, execution_engine: PandasExecutionEngine, metric_domain_kwargs: dict,
                metric_value_kwargs: dict, **kwargs: Any) -> dict[str, Any]:
        df, _, _ = execution_engine.get_compute_domain(metric_domain_kwargs, MetricDomainTypes.TABLE)
        return class_sizes(df, list(metric_value_kwargs["quasi_identifiers"]))


class ExpectReidentificationRiskToBeAtMost(SentenceRenderer, BatchExpectation):
    """A re-identification risk measure of the rows over the quasi-identifiers is at most `max_risk`: `measure` is
    max_prosecutor_risk (1 / smallest class), records_at_risk (share of rows whose 1/class size is above
    `risk_threshold`), average_prosecutor_risk or marketer_risk (classes / rows); definitions in
    pactline.checks.risk. Journalist risk needs a population table and is not measured."""

    quasi_identifiers: list[str]
    measure: str = "max_prosecutor_risk"
    max_risk: float = 0.2
    risk_threshold: float = 0.2

    threshold_keys: ClassVar[tuple[str, ...]] = ("max_risk", "risk_threshold")
    metric_dependencies = ("table.pactline_class_sizes",)
    success_keys = ("quasi_identifiers", "measure", "max_risk", "risk_threshold")
    sentence: ClassVar[str] = ("The $measure re-identification risk over the quasi-identifiers $quasi_identifiers "
                               "must be at most $max_risk.")

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None,
                  execution_engine: Any = None) -> dict[str, Any]:
        if self.measure not in MEASURES:
            raise ValueError(f"measure must be one of {', '.join(MEASURES)}")
        found = metrics["table.pactline_class_sizes"]
        risk = reidentification_risk(found["sizes"], self.risk_threshold)
        v = verdicts.reidentification_risk(risk.measure(self.measure), self.max_risk)
        return {"success": v.success, "result": {"observed_value": v.observed,
                                                 "details": {**risk.to_dict(), **v.details}}}
