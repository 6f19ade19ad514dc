"""map_schema: rename the partner's columns to canonical names, cast to declared types,
drop every column the agreement does not declare (and record the drop)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pactline.errors import DataError
from pactline.pipeline.casting import ARROW_TYPES, cast_column
from pactline.pipeline.context import RunContext
from pactline.pipeline.parts import bias_counters, part
from pactline.retention.register import ErasureRegister, erased_rows
from pactline.store.source import iter_batches


def target_schema(ctx: RunContext, dataset_id: str) -> pa.Schema:
    return declared_schema(ctx.agreement.dataset(dataset_id))


def declared_schema(ds: Any) -> pa.Schema:
    return pa.schema([pa.field(name, ARROW_TYPES[col.type]) for name, col in ds.columns.items()])


def canonical_batch(batch: pa.RecordBatch, by_canonical: dict[str, str], ds: Any, schema: pa.Schema,
                    offset: int = 0) -> pa.RecordBatch:
    """One partner batch as the dataset's declared columns: renamed (`by_canonical`: canonical -> partner
    name), cast to the declared types, undeclared columns left out. A value that does not cast is
    reported by column and row, never quoted: every column of a partner file is partner data."""
    arrays = [cast_column(batch.column(by_canonical[name]), col.type, name, offset=offset)
              for name, col in ds.columns.items()]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def read_canonical(path: str, ds: Any) -> pa.Table:
    """A partner file mapped and cast as map_schema does, in memory and outside the store (tests, benchmarks)."""
    schema = declared_schema(ds)
    with open(path, "rb") as fh:
        names, batches = iter_batches(fh, str(path), ds.source.format, ds.source.delimiter)
        renamed, dropped = _check_columns(names, dict(ds.schema_mapping), ds.columns, ds.id)
        by_canonical = {renamed.get(n, n): n for n in names if n not in dropped}
        parts, rows = [], 0
        for batch in batches:
            parts.append(canonical_batch(batch, by_canonical, ds, schema, rows))
            rows += batch.num_rows
    return pa.Table.from_batches(parts, schema=schema)


def map_schema(ctx: RunContext, dataset_id: str, landing: str, *, out_name: str = "mapped.parquet",
               on_batch: Callable[[pa.RecordBatch], None] | None = None) -> dict[str, Any]:
    """`out_name`: the staging file (a partition writes its own); `on_batch` sees every mapped batch,
    for the aggregates of a partitioned run."""
    ds = ctx.agreement.dataset(dataset_id)
    to_canonical = dict(ds.schema_mapping)
    schema = target_schema(ctx, dataset_id)
    out_rel = ctx.staging(dataset_id, out_name)
    source_rows = rows = erased = 0
    tokens = ErasureRegister().tokens(ctx.loaded.id, dataset_id)  # subjects erased earlier stay erased
    keys = ctx.keys if tokens else None
    name = f"{ds.source.uri} (landing copy {landing.rsplit('/', 2)[-2][:12]})"
    with ctx.root.open_read(landing) as src:  # decrypted as it streams
        names, batches = iter_batches(src, name, ds.source.format, ds.source.delimiter)
        renamed, dropped = _check_columns(names, to_canonical, ds.columns, dataset_id)
        undeclared = undeclared_record(undeclared_positions(names, to_canonical, ds.columns))
        by_canonical = {renamed.get(n, n): n for n in names if n not in dropped}
        with ctx.root.parquet_writer(out_rel, schema) as writer:  # encrypted with the staging version's key
            for batch in batches:
                mapped = canonical_batch(batch, by_canonical, ds, schema, source_rows)
                source_rows += batch.num_rows
                if tokens:
                    mapped = mapped.filter(pc.invert(erased_rows(mapped, tokens, ds, keys)))
                    erased += batch.num_rows - mapped.num_rows
                writer.write_batch(mapped)
                if on_batch is not None:
                    on_batch(mapped)
                rows += mapped.num_rows
    if source_rows == 0:
        raise DataError(f"dataset {dataset_id}: the source has a header but no rows")
    version = ctx.version_for(out_rel)
    result = {"dataset": dataset_id, "staging": out_rel, "version_id": version.version_id if version else None,
              "rows": rows, "renamed": renamed,
              "undeclared_columns": undeclared, "types": {n: c.type for n, c in ds.columns.items()}}
    if tokens:  # how many, never whose
        result["erased_rows_dropped"] = erased
    ctx.record("schema.mapped", **result)
    return result


def _check_columns(names: list[str], to_canonical: dict[str, str], declared: dict,
                   dataset_id: str) -> tuple[dict[str, str], list[str]]:
    """(partner name -> canonical name for the mapped columns, the undeclared partner names to leave out).

    The header is partner data (in a file without a header row it is row 1 of personal data), so
    messages name the agreement's own columns, counts and positions, never a header cell.
    """
    renamed = {n: to_canonical[n] for n in names if n in to_canonical}
    canonical_present = {renamed.get(n, n) for n in names}
    missing = [c for c in declared if c not in canonical_present]
    undeclared = undeclared_positions(names, to_canonical, declared)
    if missing:
        partner = {v: k for k, v in to_canonical.items()}  # the agreement's schema_mapping: its own text
        hint = ", ".join(f"{c} (expected partner column {partner[c]!r})" if c in partner else c for c in missing)
        found = len(names) - len(undeclared)
        if found == 0:
            which = "none of them declared: is the header row missing, or is it another file?"
        else:
            which = (f"{found} of them declared; the other {len(undeclared)} (at position(s) "
                     f"{_positions(undeclared)}) are not: is a missing column among them under another name?"
                     if undeclared else f"all {found} of them declared")
        raise DataError(f"dataset {dataset_id}: the source lacks declared column(s) {hint}; its header has "
                        f"{len(names)} column(s), {which}")
    dropped = [names[i - 1] for i in undeclared]
    # a partner column named like a canonical one that another partner column maps onto is ambiguous
    # (the name quoted is then the agreement's own canonical name)
    clash = [(i, n) for i, n in enumerate(names, 1) if n not in renamed and n in to_canonical.values()]
    if clash:
        said = ", ".join(f"{n} (position {i})" for i, n in clash)
        raise DataError(f"dataset {dataset_id}: column(s) {said} appear both directly and via schema_mapping")
    return renamed, dropped


def undeclared_positions(names: list[str], to_canonical: dict[str, str], declared: dict) -> list[int]:
    """1-based positions in the partner's header of the columns the agreement does not declare."""
    return [i for i, n in enumerate(names, 1) if to_canonical.get(n, n) not in declared]


def undeclared_record(positions: list[int]) -> dict[str, Any]:
    """How the ledger and the manifest name dropped partner columns: how many and where, never their names."""
    return {"count": len(positions), "positions": list(positions)}


def _positions(positions: list[int], limit: int = 20) -> str:
    shown = ", ".join(map(str, positions[:limit]))
    return shown + (f" and {len(positions) - limit} more" if len(positions) > limit else "")


def map_partition(ctx: RunContext, dataset_id: str, ingested: dict[str, Any]) -> dict[str, Any]:
    """map_schema for one partition, counting on the way what the reduce steps need."""
    from pactline.protect.arrays import as_text, decode
    from pactline.protect.generalise import category_counts
    from pactline.protect.streaming import rare_columns

    i = ingested["index"]
    ds = ctx.agreement.dataset(dataset_id)
    rare = rare_columns(ds)
    categories: dict[str, Counter[str]] = {n: Counter() for n in rare}
    groups = bias_counters(ctx, dataset_id)

    def observe(batch: pa.RecordBatch) -> None:
        for name in rare:
            categories[name].update(category_counts(as_text(decode(batch.column(name)))))
        for g in groups:
            g.add(batch)

    result = map_schema(ctx, dataset_id, ingested["landing"], out_name=f"mapped/{part(i)}.parquet", on_batch=observe)
    aggregates = ctx.staging(dataset_id, f"aggregates/raw-{part(i)}.json")
    ctx.root.write_json(aggregates, {"categories": {n: dict(c) for n, c in categories.items()},
                                     "groups": [g.to_dict() for g in groups]})
    return {**result, "index": i, "partition": ingested["partition"], "aggregates": aggregates,
            "of": ingested.get("of", 1)}
