"""The pipeline's side of the feature-leakage gate (privacy.feature_leakage): the raw identifiers of the released
rows, one partition's leakage measurements, and their reduce into whole-dataset outcomes.

Raw identifiers. The identifier mapping compares a released column with the dropped or pseudonymised identifier of
the same row, which only the mapped table (before protection) holds. protect never drops or reorders rows, so the
protected and mapped tables are row-aligned; suppression then removes whole rows and keeps the order, so the
released rows are the protected rows in order minus some. released_positions finds which: it matches released
rows to protected rows in order, on a hash of all their columns, or, when suppression also generalised the
quasi-identifiers, on the other columns (each released row takes the first unmatched protected row with its
hash: rows equal in every column matched on are told apart by order only, and since suppression removes whole
classes, two such rows in one class share their fate). When neither matches every released row, the mapping is
skipped and said so (and recorded as leakage.unaligned, counts only) rather than pairing a value with another
row's identifier.

A one-file dataset's check_privacy gets the aligned identifiers and runs the whole GX suite on the released table.
A partitioned dataset measures each partition in its release task (the same functions the GX metrics call) and
combine decides over all partitions, through the same verdict functions:
- unique rows: the partitions' counts of rows unique within their partition, summed. A row unique in the dataset is
  unique in its partition, so the share is an upper bound of the dataset's (conservative).
- identifier mapping: carried rows summed (exact); one-to-one when every partition where some identifier has
  several rows found it one-to-one. A mapping one-to-one over the dataset is one-to-one in each partition, so
  none is missed; a value shared across partitions by different identifiers can still be flagged (conservative).
- label leakage: AUC and normalised mutual information are not sums; each column's highest partition score
  decides (conservative: a leak in any partition fails; partitions are chunks of rows of one dataset, so a leak
  over the dataset shows in each of them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from pactline.checks.leakage import NOT_GIVEN, UNALIGNED
from pactline.pipeline.context import RunContext


def _row_hashes(table: pa.Table, columns: list[str]) -> np.ndarray:
    from pactline.checks.runner import to_pandas

    return pd.util.hash_pandas_object(to_pandas(table.select(columns)), index=False).to_numpy()


def _in_order(released: np.ndarray, protected: np.ndarray) -> np.ndarray | None:
    """Positions in `protected` of each `released` hash, matching in order (each released row to the first
    unmatched protected row with its hash); None when some released row has no match."""
    positions = np.empty(len(released), dtype=np.int64)
    j = 0
    for i, h in enumerate(protected.tolist()):
        if j < len(released) and h == released[j]:
            positions[j] = i
            j += 1
    return positions if j == len(released) else None


def released_positions(released: pa.Table, protected: pa.Table, quasi_identifiers: list[str]) -> np.ndarray | None:
    """Row positions in `protected` of the released rows (see the module docstring), or None."""
    if released.num_rows == protected.num_rows:
        return np.arange(released.num_rows)  # nothing suppressed: suppression keeps the order
    shared = [c for c in released.column_names if c in protected.column_names]
    for columns in (shared, [c for c in shared if c not in quasi_identifiers]):
        if columns:
            found = _in_order(_row_hashes(released, columns), _row_hashes(protected, columns))
            if found is not None:
                return found
    return None


def raw_identifiers(ctx: RunContext, dataset_id: str, released: pa.Table, *, mapped: str | None,
                    protected: str | None) -> pa.Table | None:
    """The raw identifiers privacy.feature_leakage tests the released columns against, for the released rows in
    their order; None when it asks for none, or they cannot be aligned (recorded, counts only)."""
    from pactline.checks.leakage import leakage_columns

    cols = leakage_columns(ctx.agreement, ctx.agreement.dataset(dataset_id), released.column_names)
    if not cols.identifiers or mapped is None or protected is None:
        return None
    with ctx.root.open_parquet(mapped) as pf:
        names = [c for c in cols.identifiers if c in pf.schema_arrow.names]
    raw = ctx.root.read_table(mapped, columns=names)
    kanon = ctx.agreement.privacy.k_anonymity
    positions = released_positions(released, ctx.root.read_table(protected),
                                   list(kanon.quasi_identifiers) if kanon else [])
    if positions is None:
        ctx.record("leakage.unaligned", dataset=dataset_id, released_rows=released.num_rows, mapped_rows=raw.num_rows)
        return None
    return raw.take(pa.array(positions))


def partition_leakage(ctx: RunContext, dataset_id: str, released: str, *, protected: str,
                      mapped: str | None) -> dict[str, Any]:
    """One partition's leakage measurements for combine, as GX's metrics take them on a one-file dataset: label
    scores per column, unique-row counts, and per candidate column its mapping onto each raw identifier. Scores
    and counts only: nothing here is a value of the data. Empty when the agreement asks no leakage gate."""
    from expectations.leakage import identifier_finding
    from pactline.checks import leakage
    from pactline.checks.runner import to_pandas

    if ctx.agreement.privacy.feature_leakage is None:
        return {}
    table = ctx.root.read_table(released)
    cols = leakage.leakage_columns(ctx.agreement, ctx.agreement.dataset(dataset_id), table.column_names)
    frame = to_pandas(table)
    out: dict[str, Any] = {"skipped": list(cols.skipped)}
    if cols.label:
        out["label"] = cols.label
        out["scores"] = {c: leakage.label_scores(frame[c], frame[cols.label]) for c in cols.features}
    if cols.identity_columns:
        out["unique"] = {"columns": cols.identity_columns, **leakage.unique_rows(frame, cols.identity_columns)}
    raw = raw_identifiers(ctx, dataset_id, table, mapped=mapped, protected=protected) if cols.candidates else None
    if cols.candidates and raw is None:
        out["skipped"].append((NOT_GIVEN if mapped is None else UNALIGNED).format(dataset=dataset_id))
    elif raw is not None:
        ids = to_pandas(raw)
        out["identifiers"] = {
            c: {"one_to_one": c not in cols.free_text,
                "findings": {i: identifier_finding(frame[c], ids[i], one_to_one=c not in cols.free_text)
                             for i in ids.columns}}
            for c in cols.candidates}
    return out


def leakage_outcomes(ctx: RunContext, released: list[dict[str, Any]]) -> tuple[list[Any], list[str]]:
    """The whole dataset's leakage outcomes from the partitions' measurements (see the module docstring for how
    each rule is reduced), and what was skipped."""
    from pactline.checks import outcomes

    fl = ctx.agreement.privacy.feature_leakage
    measured = [r["leakage"] for r in released if r.get("leakage")]
    if fl is None or not measured:
        return [], []
    n, first = len(released), measured[0]  # one schema: every partition measured the same columns
    skipped = sorted({s for m in measured for s in m.get("skipped", [])})
    found: list[Any] = []
    for column in first.get("scores", {}):
        per = [m["scores"][column] for m in measured if column in m.get("scores", {})]
        worst: dict[str, Any] = {k: max((p[k] for p in per if p[k] is not None), default=None)
                                 for k in ("single_feature_auc", "normalised_mutual_information")}
        found.append(outcomes.label_leakage_outcome(column, first["label"], fl.max_single_feature_auc,
                                                    fl.max_normalised_mutual_information,
                                                    {**worst, "rows": sum(p["rows"] for p in per)}, partitions=n))
    if "unique" in first:
        found.append(outcomes.unique_row_share_outcome(
            first["unique"]["columns"], fl.max_unique_row_share, partitions=n,
            unique_rows=sum(m["unique"]["unique_rows"] for m in measured),
            rows=sum(m["unique"]["rows"] for m in measured)))
    aligned = [m for m in measured if "identifiers" in m]
    if aligned and len(aligned) == len(measured):  # a partition left out could hide the mapping: all or none
        for column, spec in first["identifiers"].items():
            findings = {}
            for ident in spec["findings"]:
                per = [m["identifiers"][column]["findings"][ident] for m in aligned]
                # a partition where every identifier has one row (or there is one person) tells nothing
                told = [p for p in per if 2 <= p["distinct_identifier"] < p["rows"]]
                finding: dict[str, Any] = {"rows": sum(p["rows"] for p in per),
                                           "one_to_one": bool(told) and all(p["one_to_one"] for p in told)}
                if all("checked" in p for p in per):
                    finding |= {"carried": sum(p["carried"] for p in per), "checked": sum(p["checked"] for p in per)}
                findings[ident] = finding
            found.append(outcomes.identifier_leakage_outcome(column, findings, fl.max_carried_identifier_rate,
                                                             one_to_one=spec["one_to_one"], partitions=n))
    return found, skipped
