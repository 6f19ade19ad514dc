"""protect: apply to every column exactly the transformation the agreement allows.

The only deviation allowed is a stricter one decided by scan_pii under the agreement's
privacy.on_undeclared_pii clause (drop, redact, or redact_text a column found to hold PII).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, is_dataclass
from typing import Any

import pyarrow as pa

from pactline.agreement.model import Dataset
from pactline.agreement.transformations import Drop, Redact, RedactText
from pactline.errors import PolicyViolation
from pactline.pipeline.context import RunContext
from pactline.pipeline.known_identifiers import redact_known_identifiers
from pactline.policy import Policy

STRICTER = {"drop": Drop, "redact": Redact, "redact_text": RedactText}
BATCH_ROWS = 65_536


def with_overrides(ds: Dataset, overrides: dict[str, str]) -> Dataset:
    columns = dict(ds.columns)
    for name, kind in overrides.items():
        if kind not in STRICTER or name not in columns:
            raise PolicyViolation("privacy.on_undeclared_pii", f"override {kind!r} of column {name!r} is not allowed")
        columns[name] = columns[name].model_copy(update={"transformation": STRICTER[kind]()})
    return ds.model_copy(update={"columns": columns})


def _batches(ctx: RunContext, mapped: str, ds: Dataset, known: list[int]) -> Iterator[pa.RecordBatch]:
    """The mapped data batch by batch, with each row's own identifiers already cut out of its free text."""
    with ctx.root.open_parquet(mapped) as pf:
        for batch in pf.iter_batches(batch_size=BATCH_ROWS):
            table, n = redact_known_identifiers(pa.Table.from_batches([batch]), ds)
            known[0] += n
            yield from table.to_batches()


def protect(ctx: RunContext, dataset_id: str, mapped: str, overrides: dict[str, str] | None = None) -> dict[str, Any]:
    """Streams: memory stays flat however large the dataset (rare_to_other counts come from a first pass)."""
    from pactline.protect import count_categories, output_schema, protect_batches

    ds = ctx.agreement.dataset(dataset_id)
    policy = Policy(ctx.loaded)
    for name, col in ds.columns.items():  # re-checked at run time: the engine obeys the policy, not the DAG
        policy.require_transformation(dataset_id, name, col.transformation.kind)
    effective = with_overrides(ds, overrides or {})
    with ctx.root.open_parquet(mapped) as pf:
        in_schema = pf.schema_arrow
        counts = count_categories(pf.iter_batches(batch_size=BATCH_ROWS), effective)
    keys = ctx.keys
    schema = output_schema(in_schema, effective, keys=keys)
    out_rel = ctx.staging(dataset_id, "protected.parquet")
    actions: list = []
    known = [0]
    with ctx.root.parquet_writer(out_rel, schema) as writer:
        for batch in protect_batches(_batches(ctx, mapped, effective, known), effective, keys=keys, counts=counts,
                                     actions=actions):
            writer.write_batch(batch)
    summary = [asdict(a) if is_dataclass(a) else dict(a) for a in actions]
    for action in summary:
        ctx.record("transform.applied", dataset=dataset_id, **action)
    version = ctx.version_for(out_rel)
    return {"dataset": dataset_id, "staging": out_rel, "version_id": version.version_id if version else None,
            "rows": writer.rows, "columns": schema.names, "overrides": overrides or {}, "actions": summary,
            "known_identifiers_redacted": known[0]}
