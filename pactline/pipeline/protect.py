"""protect: apply to every column exactly the transformation the agreement allows.

The only deviation allowed is a stricter one decided by scan_pii under the agreement's
privacy.on_undeclared_pii clause (drop, redact, or redact_text a column found to hold PII).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, is_dataclass
from typing import Any

import pyarrow as pa

from pactline.agreement.model import Dataset
from pactline.agreement.transformations import Drop, Redact, RedactText
from pactline.errors import PolicyViolation
from pactline.pipeline.context import BATCH_ROWS, RunContext
from pactline.pipeline.known_identifiers import redact_known_identifiers
from pactline.pipeline.parts import part
from pactline.policy import Policy
from pactline.protect.suppression import ClassCounts

STRICTER = {"drop": Drop, "redact": Redact, "redact_text": RedactText}


def with_overrides(ds: Dataset, overrides: dict[str, str]) -> Dataset:
    columns = dict(ds.columns)
    for name, kind in overrides.items():
        if kind not in STRICTER or name not in columns:
            raise PolicyViolation("privacy.on_undeclared_pii", f"override {kind!r} of column {name!r} is not allowed")
        columns[name] = columns[name].model_copy(update={"transformation": STRICTER[kind]()})
    return ds.model_copy(update={"columns": columns})


def _redacted(batches: Iterator[pa.RecordBatch], ds: Dataset, known: list[int]) -> Iterator[pa.RecordBatch]:
    """The mapped data batch by batch, with each row's own identifiers already cut out of its free text."""
    for batch in batches:
        table, n = redact_known_identifiers(pa.Table.from_batches([batch]), ds)
        known[0] += n
        yield from table.combine_chunks().to_batches() or [batch.slice(0, 0)]


def _effective(ctx: RunContext, dataset_id: str, overrides: dict[str, str]) -> Dataset:
    """The dataset's transformations, re-checked against the policy at run time (the engine obeys the policy,
    not the DAG), with scan_pii's stricter overrides applied."""
    ds = ctx.agreement.dataset(dataset_id)
    policy = Policy(ctx.loaded)
    for name, col in ds.columns.items():
        policy.require_transformation(dataset_id, name, col.transformation.kind)
    return with_overrides(ds, overrides)


def _protect_stream(ctx: RunContext, dataset_id: str, src: str, out_rel: str, effective: Dataset,
                    counts: dict | None, on_batch: Callable[[pa.RecordBatch], None] | None = None,
                    partition: str | None = None) -> dict[str, Any]:
    """The one streaming core: read `src` batch by batch, transform, write `out_rel` encrypted, record."""
    from pactline.protect import output_schema, protect_batches

    actions: list = []
    known = [0]
    with ctx.root.open_parquet(src) as pf:
        schema = output_schema(pf.schema_arrow, effective, keys=ctx.keys)
        with ctx.root.parquet_writer(out_rel, schema) as writer:
            for batch in protect_batches(_redacted(pf.iter_batches(batch_size=BATCH_ROWS), effective, known),
                                         effective, keys=ctx.keys, counts=counts, actions=actions):
                writer.write_batch(batch)
                if on_batch is not None:
                    on_batch(batch)
    summary = [asdict(a) if is_dataclass(a) else dict(a) for a in actions]
    where = {"partition": partition} if partition is not None else {}
    for action in summary:
        ctx.record("transform.applied", dataset=dataset_id, **where, **action)
    return {"dataset": dataset_id, "staging": out_rel, "rows": writer.rows, "columns": schema.names,
            "actions": summary, "known_identifiers_redacted": known[0]}


def protect(ctx: RunContext, dataset_id: str, mapped: str, overrides: dict[str, str] | None = None) -> dict[str, Any]:
    """Streams: memory stays flat however large the dataset (rare_to_other counts come from a first pass)."""
    from pactline.protect import count_categories

    effective = _effective(ctx, dataset_id, overrides or {})
    with ctx.root.open_parquet(mapped) as pf:
        counts = count_categories(pf.iter_batches(batch_size=BATCH_ROWS), effective)
    out_rel = ctx.staging(dataset_id, "protected.parquet")
    result = _protect_stream(ctx, dataset_id, mapped, out_rel, effective, counts)
    version = ctx.version_for(out_rel)
    return {**result, "version_id": version.version_id if version else None, "overrides": overrides or {}}


def protect_partition(ctx: RunContext, dataset_id: str, mapped: dict[str, Any], prepared: dict[str, Any],
                      *, quasi_identifiers: list[str] | None = None,
                      protected_attributes: list[str] | None = None) -> dict[str, Any]:
    """One partition, with the whole dataset's overrides and category counts (prepare); counts its
    equivalence classes for k_classes, over the quasi-identifiers and then the protected attributes not among them
    (so k_classes can see what suppression does to each protected group)."""
    from pactline.protect.streaming import rare_columns

    i = mapped["index"]
    effective = _effective(ctx, dataset_id, prepared["overrides"])
    counts = ctx.root.read_json(prepared["categories"]) if rare_columns(effective) else None
    extra = [a for a in protected_attributes or [] if a not in (quasi_identifiers or [])
             and a in effective.columns and effective.columns[a].transformation.kind != "drop"]
    classes = ClassCounts([*quasi_identifiers, *extra]) if quasi_identifiers else None
    out_rel = ctx.staging(dataset_id, f"protected/{part(i)}.parquet")
    result = _protect_stream(ctx, dataset_id, mapped["staging"], out_rel, effective, counts,
                             on_batch=classes.add if classes is not None else None, partition=mapped["partition"])
    # the partition's row count is the mapped one: protect never drops rows (suppression is release's)
    result = {**result, "rows": mapped["rows"], "index": i, "partition": mapped["partition"],
              "overrides": prepared["overrides"]}
    if classes is not None:
        result["classes"] = ctx.staging(dataset_id, f"aggregates/classes-{part(i)}.parquet")
        result["class_columns"] = classes.qis
        ctx.root.write_table(result["classes"], classes.to_table())
    return result
