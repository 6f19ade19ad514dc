"""Run a GX suite on a table: an ephemeral GX context (nothing persisted, no analytics), a pandas
data source, a validation definition and a checkpoint whose UpdateDataDocsAction writes Data Docs
into `docs_dir`. The GX result becomes a CheckResult.
"""

from __future__ import annotations

import os

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # before GX is imported: it reads the variable once

import datetime as dt
import numbers
from pathlib import Path
from typing import Any, Literal

import great_expectations as gx
import pandas as pd
import pyarrow as pa
from great_expectations.checkpoint import UpdateDataDocsAction
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.expectations.registry import get_expectation_impl

import expectations  # noqa: F401  - registers the custom expectations and metrics
from pactline.checks.result import CheckResult, Outcome, json_safe, without_values
from pactline.checks.verdicts import passing_share
from pactline.withheld import WITHHELD, withhold_values

SITE = "pactline"
# Never let GX copy unexpected values into results or Data Docs: the columns are personal data.
RESULT_FORMAT: dict[str, Any] = {"result_format": "BASIC", "exclude_unexpected_values": True}
_OBSERVES_TYPE_NAMES = {"expect_column_values_to_be_in_type_list", "expect_column_values_to_be_of_type"}
_NULLABLE = {pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
             pa.int64(): pd.Int64Dtype(), pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(),
             pa.uint32(): pd.UInt32Dtype(), pa.uint64(): pd.UInt64Dtype(), pa.bool_(): pd.BooleanDtype()}


def withhold_exception_values(validation: Any) -> None:
    """Every exception an expectation raised, in place: its message with any quoted value withheld and its
    traceback (which repeats the message) replaced by a note. GX shows both in Data Docs."""
    for result in getattr(validation, "results", None) or []:
        info = result.exception_info or {}
        for entry in [info] if "raised_exception" in info else list(info.values()):
            if isinstance(entry, dict) and entry.get("raised_exception"):
                entry["exception_message"] = withhold_values(str(entry.get("exception_message") or "error"))
                entry["exception_traceback"] = "(withheld: a traceback repeats the message, which may quote the data)"


class WithheldDataDocsAction(UpdateDataDocsAction):
    """UpdateDataDocsAction that first withholds values from the exceptions in the stored validation result,
    which the Data Docs are rendered from (GX quotes the cell a pandas or Arrow error names)."""

    type: Literal["pactline_update_data_docs"] = "pactline_update_data_docs"

    def _run(self, validation_result_suite: Any, validation_result_suite_identifier: Any, action_context: Any = None,
             expectation_suite_identifier: Any = None, checkpoint_identifier: Any = None) -> Any:
        if validation_result_suite is not None:
            withhold_exception_values(validation_result_suite)
            self._data_context.validation_results_store.store_validation_results(
                suite_validation_result=validation_result_suite,
                suite_validation_result_identifier=validation_result_suite_identifier,
                expectation_suite_identifier=expectation_suite_identifier)
        return super()._run(validation_result_suite, validation_result_suite_identifier, action_context,
                            expectation_suite_identifier, checkpoint_identifier)


def to_pandas(table: pa.Table | pd.DataFrame) -> pd.DataFrame:
    """The frame GX validates: integers and booleans stay integer/boolean with nulls (no silent float
    or object), dates become datetime64, dictionary columns their value type, timestamps UTC."""
    if isinstance(table, pd.DataFrame):
        # through Arrow, so a frame gets the same dtypes as a table (date objects, categoricals, ...)
        try:
            table = pa.Table.from_pandas(table, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return table  # mixed-type object columns: validate as given; the type checks will say so
    columns = []
    for field in table.schema:
        col = table.column(field.name)
        t = field.type
        if pa.types.is_dictionary(t):
            col, t = col.cast(t.value_type), t.value_type
        if pa.types.is_timestamp(t) and t.tz is not None:
            col = col.cast(pa.timestamp(t.unit, tz="UTC")).cast(pa.timestamp(t.unit))
        columns.append(col)
    flat = pa.Table.from_arrays(columns, names=table.column_names)
    return flat.to_pandas(types_mapper=_NULLABLE.get, date_as_object=False)


def context(docs_dir: Path | None) -> Any:
    """An in-memory GX context; with `docs_dir`, one local Data Docs site rooted there."""
    sites = {}
    if docs_dir is not None:
        sites[SITE] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(), data_docs_sites=sites,
                               analytics_enabled=False, progress_bars=ProgressBarsConfig(globally=False))
    return gx.get_context(mode="ephemeral", project_config=config)


def run_suite(frame: pd.DataFrame, suite: gx.ExpectationSuite, *, kind: str, agreement_id: str, dataset_id: str,
              fingerprint: str | None = None, docs_dir: Path | None = None, run_id: str | None = None) -> CheckResult:
    """Validate `frame` against `suite` through a checkpoint (building Data Docs when docs_dir is given)."""
    ctx = context(docs_dir)
    asset = ctx.data_sources.add_pandas("pactline").add_dataframe_asset(dataset_id)
    batch = asset.add_batch_definition_whole_dataframe("whole")
    suite = ctx.suites.add(suite)
    definition = ctx.validation_definitions.add(gx.ValidationDefinition(name=suite.name, data=batch, suite=suite))
    actions = [WithheldDataDocsAction(name="data_docs", site_names=[SITE])] if docs_dir is not None else []
    checkpoint = ctx.checkpoints.add(gx.Checkpoint(name=suite.name, validation_definitions=[definition],
                                                   actions=actions, result_format=RESULT_FORMAT))
    run = RunIdentifier(run_name=run_id or "adhoc", run_time=dt.datetime.now(dt.UTC))
    outcome = checkpoint.run(batch_parameters={"dataframe": frame}, run_id=run)
    validation = next(iter(outcome.run_results.values()))
    results = [outcome_of(r) for r in validation.results]
    index = Path(docs_dir) / "index.html" if docs_dir is not None else None
    return CheckResult(kind=kind, suite=suite.name, agreement_id=agreement_id, dataset_id=dataset_id,
                       passed=bool(outcome.success), results=results, fingerprint=fingerprint, run_id=run_id,
                       docs_index=str(index) if index is not None and index.exists() else None,
                       extras={"rows": len(frame), **({"skipped": suite.meta["skipped"]}
                                                      if (suite.meta or {}).get("skipped") else {})})


def _error(result: Any) -> str | None:
    """The exception an expectation raised, with any value it quoted withheld (pandas and GX quote the
    cell they choke on; the message goes to the ledger and the steward's pages)."""
    info = result.exception_info or {}
    entries = [info] if "raised_exception" in info else list(info.values())
    for e in entries:
        if isinstance(e, dict) and e.get("raised_exception"):
            return withhold_values(str(e.get("exception_message") or "error"))
    return None


def _observed(expectation: str, observed: Any) -> Any:
    """The observed value when it is a number (or, for the type check, a type name); a built-in
    expectation that observes a value of the data (a column's max, its distinct values) has it withheld."""
    if observed is None or isinstance(observed, numbers.Number) or type(observed).__name__ == "bool_":
        return observed
    if expectation in _OBSERVES_TYPE_NAMES and isinstance(observed, str):
        return observed
    return WITHHELD


def _columns(kwargs: dict[str, Any]) -> list[str]:
    cols = list(kwargs.get("quasi_identifiers") or [])
    cols += [kwargs[k] for k in ("column", "sensitive_column", "label_column") if kwargs.get(k)]
    return cols


def _threshold(config: Any) -> dict[str, Any]:
    """Without the suite builder's meta: the class's threshold keys (defaults included), else every
    non-domain parameter given."""
    keys = getattr(get_expectation_impl(config.type), "threshold_keys", ())
    if keys:
        expectation = config.to_domain_obj()
        return {k: getattr(expectation, k) for k in keys}
    return {k: v for k, v in config.kwargs.items() if k not in ("column", "batch_id") and v is not None}


def outcome_of(result: Any) -> Outcome:
    """One GX ExpectationValidationResult as an Outcome with the agreement's threshold."""
    config = result.expectation_config
    kwargs = dict(config.kwargs)
    meta = (config.meta or {}).get("pactline", {})
    res = dict(result.result or {})
    details: dict[str, Any] = without_values(res.get("details"))
    observed = _observed(config.type, res.get("observed_value"))
    if "element_count" in res and observed is None and "unexpected_count" in res:
        # map expectations: the share of non-null values that pass, comparable with `mostly`
        element = res["element_count"] - res.get("missing_count", 0)  # not_null reports no missing_count
        observed = passing_share(element, res["unexpected_count"])  # what GX compared with `mostly`
        details.update({k: res[k] for k in ("element_count", "unexpected_count", "missing_count") if k in res})
    error = _error(result)
    if error:
        details["error"] = error
    threshold = meta.get("threshold") or _threshold(config)
    return Outcome(expectation=config.type, columns=_columns(kwargs), observed=json_safe(observed),
                   threshold=json_safe(threshold), success=bool(result.success), details=json_safe(details),
                   clause=meta.get("clause", ""), description=meta.get("description", ""))
