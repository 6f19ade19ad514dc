"""The steps of a partitioned dataset: map over partitions, reduce where the whole dataset matters.

    list_partitions                      the partitions the mapped tasks expand over
    ingest_partition*  map_partition*    a content-hashed landing copy, then mapped types (+ raw aggregates)
    scan_partition*    quality_partition*  sampled PII scan; quality rules that hold row by row (+ unique values, bucketed)
    prepare                              reduce: union of scan overrides, global category counts, row counts,
                                         uniqueness over all partitions
    protect_partition*                   streaming protect with the global counts (+ class sizes)
    k_classes                            reduce: global equivalence-class sizes, what suppression removes
    release_partition*                   suppression with the global sizes, residual-PII check (+ released aggregates)
    combine                              reduce: k-anonymity, l-diversity and bias gates from the summed aggregates;
                                         the released parts as one dataset for publish
    synthesize_sample                    a synthetic output trained on a seeded sample of the partitions

(* = one task per partition.) Aggregates keyed by data values (categories, classes, groups) are
written encrypted to the run's staging version; XCom carries only paths, counts and hashes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, is_dataclass, replace
from typing import Any

import pyarrow as pa

from pactline.agreement import LoadedAgreement
from pactline.errors import DataError
from pactline.partition import (
    ClassCounts,
    GroupCounts,
    Partition,
    SensitiveValues,
    list_partitions,
    open_partition,
    sum_counts,
)
from pactline.partition.aggregate import kept_rows
from pactline.pipeline import gates
from pactline.pipeline.context import RunContext
from pactline.pipeline.ingest import land, record_loaded
from pactline.pipeline.known_identifiers import redact_known_identifiers
from pactline.pipeline.map_schema import map_schema
from pactline.pipeline.protect import with_overrides
from pactline.pipeline.scan_pii import scan_pii
from pactline.policy import Policy
from pactline.sources import locate_source

BATCH_ROWS = 65_536


def part(i: int) -> str:
    return f"part-{i:05d}"


# -- helpers ---------------------------------------------------------------------------------


def partition_agreement(loaded: LoadedAgreement, dataset_id: str) -> LoadedAgreement:
    """The agreement as one partition is checked against: rules that hold row by row only.

    Row counts are checked on the total (prepare), k-anonymity on the summed class sizes (k_classes,
    combine); the fingerprint stays the agreement's own, so results are recorded against it.
    """
    a = loaded.agreement
    rules = [r for r in a.quality_rules if not (r.dataset == dataset_id and r.rule == "row_count")]
    privacy = a.privacy.model_copy(update={"k_anonymity": None, "l_diversity": None})
    return replace(loaded, agreement=a.model_copy(update={"quality_rules": rules, "privacy": privacy}))


def bias_counters(ctx: RunContext, dataset_id: str) -> list[GroupCounts]:
    return [GroupCounts(attr, b.label, b.positive) for b in ctx.agreement.bias_checks if b.dataset == dataset_id
            for attr in b.protected_attributes]


def sensitive_values(ctx: RunContext, dataset_id: str, columns: list[str]) -> SensitiveValues | None:
    """The l-diversity aggregate of the released columns, or None when the agreement asks none (or it does not apply)."""
    from expectations.suites import l_diversity_classes

    qis = l_diversity_classes(ctx.agreement, dataset_id, columns)
    ld = ctx.agreement.privacy.l_diversity
    return SensitiveValues(qis, ld.sensitive_column, ld.l) if qis else None


def _merged_groups(ctx: RunContext, paths: list[str]) -> list[GroupCounts]:
    merged: list[GroupCounts] = []
    for rel in paths:
        for i, g in enumerate(ctx.root.read_json(rel)["groups"]):
            counts = GroupCounts.from_dict(g)
            if i < len(merged):
                merged[i].merge(counts)
            else:
                merged.append(counts)
    return merged


def _gate_partition(ctx: RunContext, dataset_id: str, kind: str, result: Any, partition: str, index: int) -> dict:
    """Record one partition's check; a failure opens an incident and stops that partition (and so the release)."""
    from pactline.checks import CheckFailed

    rel = ctx.reports(dataset_id, f"checks/partitions/{part(index)}/result_{kind}.json")
    ctx.root.write_json(rel, json.loads(result.to_json()))
    failures = [o.describe() for o in result.failures]
    ctx.record("check.result", dataset=dataset_id, check=kind, partition=partition, passed=result.passed,
               suite=result.suite, expectations=len(result.results), failures=failures[:20], report=rel)
    if not result.passed:
        gates.open_incident(ctx, dataset_id, f"gate.{kind}", f"partition {partition}: "
                                  f"{result.failures_message()}", rel)
        raise CheckFailed(result)
    return {"check": kind, "passed": True, "report": rel, "expectations": len(result.results)}


# -- mapped steps ----------------------------------------------------------------------------


def list_partitions_step(ctx: RunContext, dataset_id: str) -> list[dict[str, Any]]:
    ds = ctx.agreement.dataset(dataset_id)
    record_loaded(ctx, dataset_id)
    root, _ = locate_source(ctx.loaded, dataset_id)  # refused unless inside the provider's source root
    parts = list_partitions(ds.source, ctx.loaded.base_dir, root)
    ctx.record("partitions.listed", dataset=dataset_id, source_uri=ds.source.uri, partitions=len(parts),
               names=[p.name for p in parts][:1000])
    return [p.to_dict() for p in parts]


def ingest_partition(ctx: RunContext, dataset_id: str, partition: dict[str, Any]) -> dict[str, Any]:
    p = Partition.from_dict(partition)
    ds = ctx.agreement.dataset(dataset_id)
    try:
        root, _ = locate_source(ctx.loaded, dataset_id)
        with open_partition(p, root) as fh:
            result = land(ctx, dataset_id, fh, source_uri=ds.source.uri, ext=ds.source.format,
                          extra={"partition": p.name})
    except FileNotFoundError:
        raise DataError(f"dataset {dataset_id}: partition {p.name} of {ds.source.uri} not found") from None
    result = {**result, "partition": p.name, "index": p.index}
    ctx.record("data.ingested", **result)
    return {**result, "of": p.of}


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


def scan_partition(ctx: RunContext, dataset_id: str, mapped: dict[str, Any], *,
                   on_undeclared_pii: str = "fail", sample_size: int = 1000) -> dict[str, Any]:
    out = scan_pii(ctx, dataset_id, mapped["staging"], on_undeclared_pii=on_undeclared_pii, sample_size=sample_size,
                   report_name=f"pii_scan/{part(mapped['index'])}.json")
    return {**out, "index": mapped["index"], "partition": mapped["partition"]}


def unique_rules(ctx: RunContext, dataset_id: str) -> list[tuple[int, Any]]:
    """The agreement's `unique` rules on this dataset, with their index in quality_rules."""
    return [(j, r) for j, r in enumerate(ctx.agreement.quality_rules) if r.dataset == dataset_id and r.rule == "unique"]


def quality_partition(ctx: RunContext, dataset_id: str, mapped: dict[str, Any]) -> dict[str, Any]:
    """The row-by-row rules on one partition (uniqueness within it too); a unique column's values bucketed
    for the check over all partitions in prepare."""
    from pactline.checks import check_quality
    from pactline.partition.uniqueness import write_buckets

    i = mapped["index"]
    table = ctx.root.read_table(mapped["staging"])
    loaded = partition_agreement(ctx.loaded, dataset_id)
    result = check_quality(table, loaded, dataset_id, run_id=ctx.run_id)
    out = _gate_partition(ctx, dataset_id, "quality", result, mapped["partition"], i)
    unique: dict[str, Any] = {}
    for j, rule in unique_rules(ctx, dataset_id):
        if rule.column in table.column_names:  # values of the data: written encrypted, only the path travels
            rel = ctx.staging(dataset_id, f"aggregates/unique-{j}-{part(i)}.parquet")
            column = table[rule.column]
            with ctx.root.parquet_writer(rel, pa.schema([("value", column.type)])) as writer:
                unique[str(j)] = {"path": rel, "buckets": write_buckets(writer, column, mapped.get("of", 1))}
    return {**out, "index": i, "partition": mapped["partition"], "rows": mapped["rows"],
            "of": mapped.get("of", 1), "unique": unique}


# -- reduce: before protect ------------------------------------------------------------------


def prepare(ctx: RunContext, dataset_id: str, mapped: list[dict[str, Any]], scans: list[dict[str, Any]],
            quality: list[dict[str, Any]]) -> dict[str, Any]:
    """One set of overrides and category counts for every partition; the row-count rules on the total and the
    uniqueness rules over all partitions."""
    from pactline.checks.result import CheckResult, Outcome

    overrides: dict[str, str] = {}
    strength = {"redact_text": 1, "redact": 2, "drop": 3}
    for scan in sorted(scans, key=lambda s: s["index"]):
        for column, kind in scan["overrides"].items():  # a column found in any partition is treated in all
            if strength.get(kind, 0) > strength.get(overrides.get(column, ""), 0):
                overrides[column] = kind
    rows = sum(m["rows"] for m in mapped)
    outcomes = []
    for j, rule in enumerate(ctx.agreement.quality_rules):
        if rule.dataset == dataset_id and rule.rule == "row_count":
            ok = (rule.min is None or rows >= rule.min) and (rule.max is None or rows <= rule.max)
            outcomes.append(Outcome("expect_table_row_count_to_be_between", [], rows,
                                    {"min": rule.min, "max": rule.max}, ok, {"partitions": len(mapped)},
                                    f"quality_rules[{j}]", f"row count between {rule.min} and {rule.max}"))
    outcomes += _unique_outcomes(ctx, dataset_id, quality)
    result = CheckResult("quality", f"{ctx.loaded.id}.{dataset_id}.quality", ctx.loaded.id, dataset_id,
                         all(o.success for o in outcomes), outcomes, ctx.loaded.fingerprint, ctx.run_id,
                         extras={"rows": rows, "partitions": len(mapped),
                                 "partition_expectations": sum(q["expectations"] for q in quality)})
    with gates.local_reports(ctx, dataset_id) as out:
        gates.finish(ctx, dataset_id, "quality", result, out)
    categories = ctx.staging(dataset_id, "aggregates/categories.json")
    ctx.root.write_json(categories, sum_counts(ctx.root.read_json(m["aggregates"])["categories"] for m in mapped))
    ctx.record("partitions.prepared", dataset=dataset_id, partitions=len(mapped), rows=rows, overrides=overrides)
    return {"dataset": dataset_id, "rows": rows, "partitions": len(mapped), "overrides": overrides,
            "categories": categories}


def _unique_outcomes(ctx: RunContext, dataset_id: str, quality: list[dict[str, Any]]) -> list[Any]:
    """Each `unique` rule over all partitions (the partitions' own checks saw duplicates within them only)."""
    from pactline.checks.result import Outcome
    from pactline.partition.uniqueness import count_duplicates

    outcomes = []
    for j, rule in unique_rules(ctx, dataset_id):
        parts = [q["unique"][str(j)] for q in sorted(quality, key=lambda q: q["index"]) if str(j) in q.get("unique", {})]
        if not parts:
            continue
        found = count_duplicates(ctx.root, rule.column, parts, buckets=quality[0].get("of", 1))
        share = found.unique_share
        share_text = "" if rule.mostly == 1 else f" in at least {rule.mostly:.0%} of rows"
        outcomes.append(Outcome("expect_column_values_to_be_unique", [rule.column], share, {"mostly": rule.mostly},
                                share >= rule.mostly,
                                {"element_count": found.rows, "unexpected_count": found.duplicated_rows,
                                 "duplicated_values": found.duplicated_values, "partitions": len(parts)},
                                f"quality_rules[{j}]", f"{rule.column} is unique over all partitions{share_text}"))
    return outcomes


def protect_partition(ctx: RunContext, dataset_id: str, mapped: dict[str, Any], prepared: dict[str, Any],
                      *, quasi_identifiers: list[str] | None = None) -> dict[str, Any]:
    """Streaming protect of one partition with the global category counts; counts its equivalence classes."""
    from pactline.protect import output_schema, protect_batches
    from pactline.protect.streaming import rare_columns

    i = mapped["index"]
    ds = ctx.agreement.dataset(dataset_id)
    policy = Policy(ctx.loaded)
    for name, col in ds.columns.items():  # re-checked at run time, as protect does
        policy.require_transformation(dataset_id, name, col.transformation.kind)
    effective = with_overrides(ds, prepared["overrides"])
    counts = ctx.root.read_json(prepared["categories"]) if rare_columns(effective) else None
    classes = ClassCounts(list(quasi_identifiers)) if quasi_identifiers else None
    out_rel = ctx.staging(dataset_id, f"protected/{part(i)}.parquet")
    actions: list[Any] = []
    known = 0

    def redacted(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        nonlocal known
        for batch in batches:
            table, n = redact_known_identifiers(pa.Table.from_batches([batch]), effective)
            known += n
            yield from table.combine_chunks().to_batches() or [batch.slice(0, 0)]

    with ctx.root.open_parquet(mapped["staging"]) as src:
        schema = output_schema(src.schema_arrow, effective, keys=ctx.keys)
        with ctx.root.parquet_writer(out_rel, schema) as writer:
            for out in protect_batches(redacted(src.iter_batches(batch_size=BATCH_ROWS)), effective, keys=ctx.keys,
                                       counts=counts, actions=actions):
                writer.write_batch(out)
                if classes is not None:
                    classes.add(out)
    summary = [asdict(a) if is_dataclass(a) else dict(a) for a in actions]
    for action in summary:
        ctx.record("transform.applied", dataset=dataset_id, partition=mapped["partition"], **action)
    result = {"dataset": dataset_id, "staging": out_rel, "rows": mapped["rows"], "index": i,
              "partition": mapped["partition"], "overrides": prepared["overrides"], "actions": summary,
              "known_identifiers_redacted": known, "columns": schema.names}
    if classes is not None:
        result["classes"] = ctx.staging(dataset_id, f"aggregates/classes-{part(i)}.parquet")
        ctx.root.write_table(result["classes"], classes.to_table())
    return result


# -- reduce: k-anonymity ---------------------------------------------------------------------


def k_classes(ctx: RunContext, dataset_id: str, protected: list[dict[str, Any]], *, quasi_identifiers: list[str],
              k: int, suppress: bool, max_suppressed_rate: float) -> dict[str, Any]:
    """Sum the partitions' class sizes; decide which classes suppression removes everywhere."""
    from pactline.protect.suppression import Suppression, size_histogram

    total = ClassCounts(list(quasi_identifiers))
    for p in protected:
        total.merge(ClassCounts.from_table(quasi_identifiers, ctx.root.read_table(p["classes"])))
    below = total.small(k)
    small = below if suppress else set()
    rows_in = total.rows
    removed = sum(total.sizes[c] for c in small)
    report = Suppression(list(quasi_identifiers), k, rows_in, rows_in - removed, len(total.sizes), len(below),
                         size_histogram(total.sizes.values(), below=k))
    kept_sizes = [n for c, n in total.sizes.items() if c not in small]
    result = {"dataset": dataset_id, "rows": rows_in - removed, "partitions": len(protected), **report.to_dict(),
              "suppress": suppress, "min_class_size": min(kept_sizes, default=None)}
    ctx.record("rows.suppressed" if suppress else "classes.counted", **result)
    if suppress:
        report.require_within(max_suppressed_rate, dataset_id)
    rel = ctx.staging(dataset_id, "aggregates/small_classes.parquet")
    ctx.root.write_table(rel, pa.table({"key": pa.array(sorted(small), pa.string())}))
    return {**result, "small_classes": rel}


def release_partition(ctx: RunContext, dataset_id: str, protected: dict[str, Any],
                      classes: dict[str, Any] | None = None) -> dict[str, Any]:
    """Suppress one partition's rows of classes too small over the whole dataset; check it for residual PII."""
    from pactline.checks import check_privacy

    i = protected["index"]
    qis = classes["quasi_identifiers"] if classes else []
    small = set(ctx.root.read_table(classes["small_classes"])["key"].to_pylist()) if classes else set()
    out_rel = ctx.staging(dataset_id, f"released/{part(i)}.parquet")
    groups = bias_counters(ctx, dataset_id)
    rows = 0
    with ctx.root.open_parquet(protected["staging"]) as src, \
            ctx.root.parquet_writer(out_rel, src.schema_arrow) as writer:
        diversity = sensitive_values(ctx, dataset_id, src.schema_arrow.names)
        for batch in src.iter_batches(batch_size=BATCH_ROWS):
            if small:
                batch = batch.filter(kept_rows(batch, qis, small))
            writer.write_batch(batch)
            rows += batch.num_rows
            for g in groups:
                g.add(batch)
            if diversity is not None:
                diversity.add(batch)
    aggregates = ctx.staging(dataset_id, f"aggregates/released-{part(i)}.json")
    ctx.root.write_json(aggregates, {"groups": [g.to_dict() for g in groups]})
    if diversity is not None:  # keyed by data values: written encrypted, only its path travels
        diversity_rel = ctx.staging(dataset_id, f"aggregates/diversity-{part(i)}.parquet")
        ctx.root.write_table(diversity_rel, diversity.to_table())
    loaded = partition_agreement(ctx.loaded, dataset_id)
    result = check_privacy(ctx.root.read_table(out_rel), loaded, dataset_id, run_id=ctx.run_id)
    check = _gate_partition(ctx, dataset_id, "privacy", result, protected["partition"], i)
    return {"dataset": dataset_id, "staging": out_rel, "rows": rows, "rows_in": protected["rows"], "index": i,
            "partition": protected["partition"], "aggregates": aggregates, "check_privacy": check,
            **({"diversity": {"path": diversity_rel, "quasi_identifiers": diversity.qis}} if diversity else {})}


# -- reduce: the whole dataset's gates, one release ------------------------------------------


def _bias_outcomes(ctx: RunContext, dataset_id: str, raw: list[GroupCounts], released: list[GroupCounts]):
    from pactline.checks.metrics import drift
    from pactline.checks.result import Outcome

    outcomes, groups = [], []
    n = 0
    for j, b in enumerate(ctx.agreement.bias_checks):
        if b.dataset != dataset_id:
            continue
        where = f"bias_checks[{j}]"
        for attr in b.protected_attributes:
            r, m = raw[n].metrics(b.min_group_size), released[n].metrics(b.min_group_size)
            n += 1
            groups.append({"attribute": attr, "label": b.label, "positive": b.positive,
                           "raw": r.to_dict(), "released": m.to_dict()})
            d = drift(r, m)
            exceeded = [f"{kind} of {g}" for kind in ("share", "positive_rate") for g, v in d[kind].items()
                        if v > b.max_drift]
            exceeded += [kind for kind in ("disparate_impact", "parity_difference")
                         if d[kind] is not None and d[kind] > b.max_drift]
            outcomes += [
                Outcome("expect_group_shares_to_be_at_least", [attr, b.label], m.min_share,
                        {"min_share": b.min_group_share},
                        m.min_share is not None and m.min_share >= b.min_group_share, {"rows": m.rows},
                        f"{where}.min_group_share", f"each {attr} group holds at least {b.min_group_share:.0%} of rows"),
                Outcome("expect_disparate_impact_to_be_at_least", [attr, b.label], m.disparate_impact,
                        {"min_ratio": b.min_disparate_impact},
                        m.disparate_impact is not None and m.disparate_impact >= b.min_disparate_impact, {},
                        f"{where}.min_disparate_impact",
                        f"{b.label} rate of the lowest {attr} group / highest is at least {b.min_disparate_impact}"),
                Outcome("expect_parity_difference_to_be_at_most", [attr, b.label], m.parity_difference,
                        {"max_difference": b.max_parity_difference},
                        m.parity_difference is not None and m.parity_difference <= b.max_parity_difference, {},
                        f"{where}.max_parity_difference",
                        f"{b.label} rate of the highest {attr} group - lowest is at most {b.max_parity_difference}"),
                Outcome("expect_group_metrics_to_not_drift", [attr, b.label], d["max"], {"max_drift": b.max_drift},
                        not exceeded, {"exceeded": exceeded}, f"{where}.max_drift",
                        f"{attr} shares, {b.label} rates, DI and parity difference move by at most {b.max_drift} "
                        "from raw to released"),
            ]
    return outcomes, groups


def _l_diversity_outcome(ctx: RunContext, released: list[dict[str, Any]]):
    """Distinct l-diversity over all partitions: the partitions' distinct sensitive values per class, united."""
    from pactline.checks.result import Outcome

    ldiv = ctx.agreement.privacy.l_diversity
    qis = next(r["diversity"]["quasi_identifiers"] for r in released if "diversity" in r)
    merged = SensitiveValues(qis, ldiv.sensitive_column, ldiv.l)
    for r in released:
        if "diversity" in r:
            merged.merge(SensitiveValues.from_table(qis, ldiv.sensitive_column, ldiv.l,
                                                    ctx.root.read_table(r["diversity"]["path"])))
    found = merged.summary()
    smallest = found.pop("min_distinct")
    return Outcome("expect_sensitive_column_to_be_l_diverse", qis, smallest,
                   {"l": ldiv.l, "sensitive_column": ldiv.sensitive_column, "quasi_identifiers": qis},
                   smallest is None or smallest >= ldiv.l, found, "privacy.l_diversity",
                   f"{ldiv.sensitive_column} takes at least {ldiv.l} distinct values among rows sharing "
                   f"{', '.join(qis)} over all partitions")


def combine(ctx: RunContext, dataset_id: str, *, mapped: list[dict[str, Any]], released: list[dict[str, Any]],
            classes: dict[str, Any] | None = None) -> dict[str, Any]:
    """k-anonymity, l-diversity and bias over the whole dataset from the partitions' aggregates; the released
    parts, in order."""
    from pactline.checks.result import CheckResult, Outcome

    released = sorted(released, key=lambda r: r["index"])
    mapped = sorted(mapped, key=lambda m: m["index"])
    results: dict[str, CheckResult] = {}
    kanon = ctx.agreement.privacy.k_anonymity
    privacy: list[Outcome] = [Outcome("expect_column_values_to_have_no_residual_pii", [], len(released),
                                      {"max_rate": ctx.agreement.privacy.max_residual_pii_rate}, True,
                                      {"partitions_passed": len(released)}, "privacy.max_residual_pii_rate",
                                      "every released partition passed the residual-PII check")]
    if kanon and classes:
        smallest = classes["min_class_size"]
        privacy.append(Outcome("expect_quasi_identifiers_to_be_k_anonymous", list(classes["quasi_identifiers"]),
                               smallest, {"k": kanon.k, "quasi_identifiers": classes["quasi_identifiers"]},
                               smallest is None or smallest >= kanon.k,
                               {"classes": classes["classes"], "suppressed": classes["suppressed"]},
                               "privacy.k_anonymity", f"every combination of {', '.join(classes['quasi_identifiers'])} "
                               f"is shared by at least {kanon.k} rows over all partitions"))
    extras: dict[str, Any] = {"rows": sum(r["rows"] for r in released)}
    ldiv = ctx.agreement.privacy.l_diversity
    if ldiv and any("diversity" in r for r in released):
        privacy.append(_l_diversity_outcome(ctx, released))
    elif ldiv:
        extras["skipped"] = [f"l-diversity: {ldiv.sensitive_column} or quasi-identifiers not in dataset {dataset_id}"]
    results["privacy"] = CheckResult("privacy", f"{ctx.loaded.id}.{dataset_id}.privacy", ctx.loaded.id, dataset_id,
                                     all(o.success for o in privacy), privacy, ctx.loaded.fingerprint, ctx.run_id,
                                     extras=extras)
    raw = _merged_groups(ctx, [m["aggregates"] for m in mapped])
    rel = _merged_groups(ctx, [r["aggregates"] for r in released])
    if raw:
        outcomes, groups = _bias_outcomes(ctx, dataset_id, raw, rel)
        results["bias"] = CheckResult("bias", f"{ctx.loaded.id}.{dataset_id}.bias", ctx.loaded.id, dataset_id,
                                      all(o.success for o in outcomes), outcomes, ctx.loaded.fingerprint, ctx.run_id,
                                      extras={"rows": rel[0].metrics().rows if rel else 0, "groups": groups})
    out: dict[str, Any] = {}
    for kind, result in results.items():  # a failed gate records an incident and raises CheckFailed
        with gates.local_reports(ctx, dataset_id) as folder:
            out[f"check_{kind}"] = gates.finish(ctx, dataset_id, kind, result, folder)
    rows = sum(r["rows"] for r in released)
    result = {"dataset": dataset_id, "parts": [r["staging"] for r in released],
              "part_rows": [r["rows"] for r in released], "rows": rows,
              "rows_in": sum(m["rows"] for m in mapped), "partitions": len(released), **out}
    ctx.record("partitions.combined", **{k: v for k, v in result.items() if k not in ("parts", "part_rows")})
    return result


def synthesize_sample(ctx: RunContext, dataset_id: str, output_id: str, *, mapped: list[dict[str, Any]],
                      combined: dict[str, Any], training_rows: int) -> dict[str, Any]:
    """A synthetic output of a partitioned dataset, trained on at most `training_rows` rows sampled from the
    partitions (raw or released, as `train_on` says); a raw sample of the same size is kept for check_synthetic's
    bias drift, which compares synthetic group rates with the raw ones."""
    from pactline.partition.sample import sample_parts
    from pactline.pipeline.synthesize import synthetic_output, train_and_sample

    params = synthetic_output(ctx, output_id).synthesizer
    raw = [(m["staging"], m["rows"]) for m in sorted(mapped, key=lambda m: m["index"])]
    source = raw if params.train_on == "raw" else list(zip(combined["parts"], combined["part_rows"], strict=True))
    real = sample_parts(ctx.root, source, training_rows, params.seed)
    reference = ctx.staging(dataset_id, f"raw_sample_{output_id}.parquet")
    ctx.root.write_table(reference, real if source is raw else sample_parts(ctx.root, raw, training_rows, params.seed))
    # no synthetic identifier may equal a real one of any partition, sampled or not (raw and released)
    every = [rel for rel, _ in raw] + list(combined["parts"])
    return train_and_sample(ctx, dataset_id, output_id, real, also_avoid=every, sampled_from=sum(n for _, n in source),
                            raw_sample=reference)
