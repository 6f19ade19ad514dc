"""Group fairness numbers for one protected attribute and a binary label, computed with Fairlearn.

The label's positive class is compared robustly: True, 1, 1.0, "1", "true", "yes" and "ja" are all
"true", so an agreement saying `positive: true` matches a released bool column, an int column or
a CSV text column alike. Rows whose label is null count for representation but not for rates.
Rows whose protected attribute is null (or blank text, as CSV readers give empty cells) form
their own group, MISSING.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from pactline.errors import DataError

MISSING = "(missing)"
_TRUE = frozenset({"true", "t", "yes", "y", "1", "ja", "wahr", "positive"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "nein", "falsch", "negative"})

Label = str | int | float | bool


def normalise_label(value: Any) -> str | None:
    """A canonical text for a label value, so that bool/int/float/text spellings compare equal."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | float | np.integer | np.floating):
        f = float(value)
        if math.isnan(f):
            return None
        if f in (0.0, 1.0):
            return "true" if f == 1.0 else "false"
        return str(int(f)) if f.is_integer() else repr(f)
    text = str(value).strip().lower()
    if not text:
        return None
    if text in _TRUE:
        return "true"
    if text in _FALSE:
        return "false"
    try:
        return normalise_label(float(text))
    except ValueError:
        return text


@dataclass
class GroupStats:
    count: int  # rows in the group
    share: float  # count / all rows
    labelled: int  # rows with a non-null label
    positives: int
    positive_rate: float | None  # positives / labelled; None without labelled rows


@dataclass
class GroupMetrics:
    """Representation and positive rate per group, with the two parity numbers over groups."""

    attribute: str
    label: str | None
    positive: Label | None
    rows: int
    groups: dict[str, GroupStats] = field(default_factory=dict)
    disparate_impact: float | None = None  # min rate / max rate (Fairlearn demographic_parity_ratio)
    parity_difference: float | None = None  # max rate - min rate (demographic_parity_difference)
    note: str = ""
    min_group_size: int = 1  # groups with fewer labelled rows are left out of the two parity numbers
    small_groups: list[str] = field(default_factory=list)

    @property
    def min_share(self) -> float | None:
        return min((g.share for g in self.groups.values()), default=None)

    def rates(self) -> dict[str, float | None]:
        return {name: g.positive_rate for name, g in self.groups.items()}

    def shares(self) -> dict[str, float]:
        return {name: g.share for name, g in self.groups.items()}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroupMetrics:
        d = dict(data)
        d["groups"] = {k: GroupStats(**v) for k, v in d.get("groups", {}).items()}
        return cls(**d)


def group_labels(values: pd.Series) -> pd.Series:
    """The protected attribute as group names (text); nulls and blank text become MISSING."""
    out = values.astype(object).where(values.notna(), None)
    return out.map(lambda v: MISSING if v is None or not str(v).strip() else str(v)).astype(object)


def positive_mask(labels: pd.Series, positive: Label) -> pd.Series:
    """1 where the label is the positive class, 0 where it is another class, NaN where null."""
    target = normalise_label(positive)
    uniques = pd.unique(labels.astype(object))
    lookup = {u: normalise_label(u) for u in uniques if not _is_null(u)}
    norm = labels.astype(object).map(lambda v: None if _is_null(v) else lookup.get(v))
    return norm.map(lambda v: np.nan if v is None else float(v == target))


def _is_null(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def _frame(data: pd.DataFrame | pa.Table) -> pd.DataFrame:
    return data.to_pandas() if isinstance(data, pa.Table) else data


def group_metrics(data: pd.DataFrame | pa.Table, attribute: str, label: str | None = None,
                  positive: Label | None = True, min_group_size: int = 1) -> GroupMetrics:
    """Shares per group of `attribute`; with `label`, also positive rates, disparate impact and
    demographic-parity difference (all arithmetic by Fairlearn).

    The rate of a group of three rows is noise, not evidence of bias: groups with fewer than
    `min_group_size` labelled rows are reported but left out of disparate impact and parity
    difference (their representation is still checked by the share expectation)."""
    from fairlearn.metrics import (
        MetricFrame,
        count,
        demographic_parity_difference,
        demographic_parity_ratio,
        selection_rate,
    )

    frame = _frame(data)
    missing = [c for c in (attribute, label) if c is not None and c not in frame.columns]
    if missing:
        raise DataError(f"column(s) {missing} not found; the data has {list(map(str, frame.columns))}")
    groups = group_labels(frame[attribute]).rename(attribute)
    rows = len(frame)
    out = GroupMetrics(attribute=attribute, label=label, positive=positive, rows=rows, min_group_size=min_group_size)
    if rows == 0:
        out.note = "no rows"
        return out
    ones = np.ones(rows)
    counts = MetricFrame(metrics=count, y_true=ones, y_pred=ones, sensitive_features=groups).by_group
    stats = {str(g): GroupStats(count=int(n), share=float(n) / rows, labelled=0, positives=0, positive_rate=None)
             for g, n in counts.items()}
    if label is not None:
        y = positive_mask(frame[label], positive if positive is not None else True)
        keep = y.notna().to_numpy()
        if keep.any():
            yk, gk = y[keep].astype(int).to_numpy(), groups[keep]
            mf = MetricFrame(metrics={"rate": selection_rate, "labelled": count}, y_true=yk, y_pred=yk,
                             sensitive_features=gk)
            for g, row in mf.by_group.iterrows():
                s = stats[str(g)]
                s.labelled = int(row["labelled"])
                s.positive_rate = float(row["rate"])
                s.positives = round(s.positive_rate * s.labelled)
            out.small_groups = sorted(g for g, st in stats.items() if 0 < st.labelled < min_group_size)
            big = ~gk.astype(str).isin(out.small_groups).to_numpy()
            if not big.any():
                out.note = f"no group has {min_group_size} labelled rows; parity not computed"
                out.groups = dict(sorted(stats.items()))
                return out
            yk, gk = yk[big], gk[big]
            out.parity_difference = float(demographic_parity_difference(yk, yk, sensitive_features=gk))
            ratio = float(demographic_parity_ratio(yk, yk, sensitive_features=gk))
            if math.isnan(ratio):
                # every group's rate is 0: no group is favoured, so there is no disparity
                ratio, out.note = 1.0, "no positive label in any group"
            out.disparate_impact = ratio
        else:
            out.note = "no row has a label"
    out.groups = dict(sorted(stats.items()))
    return out


def drift(raw: GroupMetrics, released: GroupMetrics) -> dict[str, Any]:
    """|released - raw| for each group's share and positive rate, and for DI and parity difference.

    A group present on one side only (e.g. merged into 'other' by generalisation) drifts in share
    from/to 0; its rate drift is undefined and is listed under `unmatched`.
    """
    names = sorted(set(raw.groups) | set(released.groups))
    share, rate, unmatched = {}, {}, []
    for g in names:
        a, b = raw.groups.get(g), released.groups.get(g)
        share[g] = abs((b.share if b else 0.0) - (a.share if a else 0.0))
        small = g in raw.small_groups or g in released.small_groups
        if a and b and a.positive_rate is not None and b.positive_rate is not None and not small:
            rate[g] = abs(b.positive_rate - a.positive_rate)
        elif small:
            continue  # a tiny group's rate moves by chance; its share drift is still checked
        elif raw.label is not None:
            unmatched.append(g)

    def diff(x: float | None, y: float | None) -> float | None:
        return None if x is None or y is None else abs(y - x)

    out = {
        "share": share,
        "positive_rate": rate,
        "disparate_impact": diff(raw.disparate_impact, released.disparate_impact),
        "parity_difference": diff(raw.parity_difference, released.parity_difference),
        "unmatched_groups": unmatched,
    }
    values = [*share.values(), *rate.values(),
              *(v for v in (out["disparate_impact"], out["parity_difference"]) if v is not None)]
    out["max"] = max(values, default=0.0)
    return out
