"""Per-partition aggregates and how they combine, for the checks that need the whole dataset.

- category counts (rare_to_other): {column: {value: n}}, summed;
- equivalence-class sizes over the quasi-identifiers (k-anonymity): a table of class key -> rows,
  summed; suppression then drops, partition by partition, the rows of classes smaller than k;
  (keyed by data values, these stay in encrypted staging files: reports get sizes and counts only)
- distinct sensitive values per equivalence class (l-diversity), at most l per class, united;
- group counts per protected attribute (bias): rows, labelled rows and positives per group, summed,
  from which the same GroupMetrics as pactline.checks.metrics are derived.

Each is small (distinct categories, classes or groups, never rows), so a reduce step holds them all.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pactline.checks.metrics import MISSING, GroupMetrics, GroupStats, Label, group_labels, positive_mask
from pactline.protect.suppression import NULL, SEP, ClassCounts, class_keys, kept_rows, size_histogram


def sum_counts(parts: Iterable[Mapping[str, Mapping[str, int]]]) -> dict[str, dict[str, int]]:
    """{column: {value: count}} summed over partitions."""
    totals: dict[str, Counter[str]] = {}
    for part in parts:
        for column, counts in (part or {}).items():
            totals.setdefault(column, Counter()).update(counts)
    return {c: dict(n) for c, n in totals.items()}


def class_values(key: str, qis: list[str]) -> dict[str, str | None]:
    """A class key back to its quasi-identifier values."""
    values = key.split(SEP) if len(qis) > 1 else [key]
    return {q: None if v == NULL else v for q, v in zip(qis, values, strict=True)}


@dataclass
class SensitiveValues:
    """Distinct values of the sensitive column per equivalence class over `qis` (distinct l-diversity).

    At most `l` values are kept per class: whether a class reaches l is all the gate asks, so the
    aggregate stays small however many values a class holds. Null sensitive values do not count (as
    in the one-file check); a class whose sensitive values are all null is kept with none.
    """

    qis: list[str]
    sensitive: str
    l: int  # noqa: E741 - the standard name of the parameter
    values: dict[str, set[str]] = field(default_factory=dict)

    def add(self, batch: pa.RecordBatch | pa.Table) -> None:
        if batch.num_rows == 0:
            return
        keys = class_keys(batch, self.qis)
        for key in pc.unique(keys).to_pylist():
            self.values.setdefault(key, set())
        sens = batch.column(self.sensitive)
        pairs = pa.table({"key": keys, "value": pc.cast(sens, pa.string())}).filter(pc.is_valid(sens))
        distinct = pairs.group_by(["key", "value"]).aggregate([])
        for key, value in zip(distinct["key"].to_pylist(), distinct["value"].to_pylist(), strict=True):
            seen = self.values[key]
            if len(seen) < self.l:
                seen.add(value)

    def merge(self, other: SensitiveValues) -> SensitiveValues:
        for key, values in other.values.items():
            seen = self.values.setdefault(key, set())
            seen.update(sorted(values)[: max(0, self.l - len(seen))])
        return self

    def below(self) -> dict[str, int]:
        """The classes with fewer than l distinct sensitive values, and how many they have."""
        return {key: len(v) for key, v in self.values.items() if len(v) < self.l}

    def summary(self) -> dict[str, Any]:
        """Counts only: how many classes, how many below l, and how many of those have 0, 1, ... distinct
        sensitive values; never a class's quasi-identifier values (they single out the people in it)."""
        below = self.below()
        return {"classes": len(self.values), "classes_below_l": len(below),
                "min_distinct": min((len(v) for v in self.values.values()), default=None),
                "distinct_below_l": size_histogram(below.values())}

    def to_table(self) -> pa.Table:
        pairs = [(key, v) for key, values in self.values.items() for v in (sorted(values) or [None])]
        return pa.table({"key": pa.array([k for k, _ in pairs], pa.string()),
                         "value": pa.array([v for _, v in pairs], pa.string())})

    @classmethod
    def from_table(cls, qis: list[str], sensitive: str, l: int, table: pa.Table) -> SensitiveValues:  # noqa: E741
        out = cls(list(qis), sensitive, l)
        for key, value in zip(table["key"].to_pylist(), table["value"].to_pylist(), strict=True):
            seen = out.values.setdefault(key, set())
            if value is not None and len(seen) < l:
                seen.add(value)
        return out


@dataclass
class GroupCounts:
    """Per group of one protected attribute: rows, rows with a label, positives (same rules as group_metrics)."""

    attribute: str
    label: str | None
    positive: Label | None
    groups: dict[str, list[int]] = field(default_factory=dict)  # group -> [rows, labelled, positives]

    def add(self, batch: pa.RecordBatch | pa.Table) -> None:
        if batch.num_rows == 0:
            return
        frame = pa.table({c: batch.column(c) for c in {self.attribute, self.label} if c}).to_pandas()
        groups = group_labels(frame[self.attribute])
        if self.label is not None:
            y = positive_mask(frame[self.label], self.positive if self.positive is not None else True)
        for g, idx in groups.groupby(groups, sort=False).groups.items():
            slot = self.groups.setdefault(str(g), [0, 0, 0])
            slot[0] += len(idx)
            if self.label is not None:
                ys = y.loc[idx]
                slot[1] += int(ys.notna().sum())
                slot[2] += int((ys == 1.0).sum())

    def merge(self, other: GroupCounts) -> GroupCounts:
        for g, (n, labelled, pos) in other.groups.items():
            slot = self.groups.setdefault(g, [0, 0, 0])
            slot[0] += n
            slot[1] += labelled
            slot[2] += pos
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"attribute": self.attribute, "label": self.label, "positive": self.positive, "groups": self.groups}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GroupCounts:
        return cls(d["attribute"], d["label"], d["positive"], {g: list(v) for g, v in d["groups"].items()})

    def metrics(self, min_group_size: int = 1) -> GroupMetrics:
        """GroupMetrics as pactline.checks.metrics.group_metrics computes them on the concatenated rows."""
        rows = sum(v[0] for v in self.groups.values())
        out = GroupMetrics(attribute=self.attribute, label=self.label, positive=self.positive, rows=rows,
                           min_group_size=min_group_size)
        if rows == 0:
            out.note = "no rows"
            return out
        stats = {g: GroupStats(count=n, share=n / rows, labelled=lab, positives=pos,
                               positive_rate=pos / lab if lab else None)
                 for g, (n, lab, pos) in self.groups.items()}
        out.groups = dict(sorted(stats.items()))
        if self.label is None:
            return out
        if not any(s.labelled for s in stats.values()):
            out.note = "no row has a label"
            return out
        out.small_groups = sorted(g for g, s in stats.items() if 0 < s.labelled < min_group_size)
        rates = [s.positive_rate for g, s in stats.items() if s.labelled and g not in out.small_groups]
        if not rates:
            out.note = f"no group has {min_group_size} labelled rows; parity not computed"
            return out
        hi, lo = max(rates), min(rates)
        out.parity_difference = hi - lo
        ratio = lo / hi if hi else math.nan
        if math.isnan(ratio):
            ratio, out.note = 1.0, "no positive label in any group"
        out.disparate_impact = ratio
        return out


__all__ = ["MISSING", "ClassCounts", "GroupCounts", "SensitiveValues", "class_keys", "class_values", "kept_rows",
           "sum_counts"]
