"""Group-aware anonymisation: the least generalisation along the agreed hierarchies that reaches k with bounded
suppression and keeps every protected group.

Input: the equivalence-class sizes at level 0 (ClassCounts over the quasi-identifiers and the protected
attributes that are not among them), counted by one file's suppress step or summed over partitions by k_classes.
Every generalisation level is a function of level 0's labels (pactline.protect.hierarchy), so the class sizes of
any combination of levels (a node of the generalisation lattice) follow from these counts: one file and a
thousand partitions search the same lattice with the same numbers and choose the same node.

A node is acceptable when, after suppressing its classes smaller than k,
- suppression removes at most max_suppressed_rate of the rows (verdicts.suppressed_rate), and
- no group of a protected attribute of the dataset's bias checks vanishes, and none loses more than that bias
  check's max_drift of its share of the rows (verdicts.groups_kept).

The search is GREEDY, not ARX's optimal lattice search (Flash): it starts at level 0 of every quasi-identifier
and, while the node is not acceptable, moves one quasi-identifier up one level, choosing among those moves the
node with the fewest failed protected-group verdicts, then a suppression rate within the agreement, then the
least information loss by the discernibility metric (Bayardo & Agrawal 2005: the sum over kept classes of their
size squared, plus every suppressed row counted as n; ARX offers it as "discernibility"), then the earlier
quasi-identifier. It stops at the first acceptable node, or when every quasi-identifier is at the top of its
hierarchy (then the last node's verdicts say what fails, and `require` stops the release naming it). It tries at
most (levels in all hierarchies) x (quasi-identifiers) nodes; the node it finds is minimal along its own path
(one level less of any quasi-identifier it climbed fails), though another path may reach a node with less loss.

Generalisation is global (full-domain recoding, as ARX's default): a level applies to every row, never to the
rows of one group only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pactline.checks import verdicts
from pactline.checks.metrics import MISSING
from pactline.errors import PolicyViolation
from pactline.protect.hierarchy import climb, level_of
from pactline.protect.suppression import NULL, SEP, ClassCounts, Suppression


@dataclass(frozen=True)
class GroupsKept:
    """One protected attribute's groups before and after suppression at a node, and the verdict on them."""

    attribute: str
    max_drift: float
    verdict: verdicts.Verdict

    def summary(self) -> dict[str, Any]:
        """Counts only, for the ledger: how many groups, how many vanished or shrank, the largest share lost."""
        d = self.verdict.details
        return {"attribute": self.attribute, "max_drift": self.max_drift, "groups": len(d["lost"]),
                "vanished": len(d["vanished"]), "shrunk": len(d["shrunk"]), "largest_share_lost": self.verdict.observed}


@dataclass
class Anonymisation:
    """The node the search chose (or the last it tried): each quasi-identifier's level, the classes suppression
    removes there, and the verdicts that decided."""

    quasi_identifiers: list[str]
    levels: dict[str, int]  # quasi-identifier -> level (0: its own transformation)
    hierarchies: dict[str, list[Any]]  # quasi-identifier -> its levels above level 0, as agreed
    report: Suppression
    kept_sizes: dict[str, int]  # size histogram of the classes left: what the re-identification risk is from
    rate: verdicts.Verdict
    max_rate: float
    groups: list[GroupsKept] = field(default_factory=list)
    discernibility: int = 0
    nodes_tried: int = 1
    # the class columns' labels at this node and which of their rows suppression removes: `small` is read from them
    # only for the node chosen (text keys of a million classes per node tried would cost more than the search)
    removed_parts: tuple[list[pa.Array], pa.Array] | None = field(default=None, repr=False)

    @cached_property
    def small(self) -> set[str]:
        """The class keys (at these levels, as pactline.protect.suppression.class_keys writes them) whose rows
        suppression removes."""
        if self.removed_parts is None:
            return set()
        parts, removed = self.removed_parts
        if not pc.any(removed).as_py():
            return set()
        key = _joined([p.filter(removed) for p in parts])
        return set(pc.unique(key).to_pylist())

    @property
    def ok(self) -> bool:
        return self.rate.success and all(g.verdict.success for g in self.groups)

    @property
    def min_class_size(self) -> int | None:
        return min((int(s) for s in self.kept_sizes), default=None)

    def applied(self) -> dict[str, list[Any]]:
        """The levels to apply above level 0, per quasi-identifier (JSON-able: what the release rewrites with)."""
        return {q: [_json(level) for level in self.hierarchies.get(q, [])[:n]] for q, n in self.levels.items() if n}

    def to_dict(self) -> dict[str, Any]:
        """Sizes, counts, levels and verdicts; never a class's values nor a group's name (the ledger gets this)."""
        return {**self.report.to_dict(), "levels": dict(self.levels), "generalised": self.applied(),
                "kept_class_sizes": dict(self.kept_sizes), "min_class_size": self.min_class_size,
                "protected_groups": [g.summary() for g in self.groups], "discernibility": self.discernibility,
                "nodes_tried": self.nodes_tried}

    def require(self, dataset_id: str) -> None:
        """Stop the release when the node breaks the agreement, saying everything it breaks at once: suppression
        removing more rows than agreed, a protected group vanishing or losing more than max_drift of its share
        (counted, with its attribute: a group's name is a value of the partner's data, so the message, which
        reaches the ledger, never holds it; the steward's bias report shows which). The clause is the first
        broken one."""
        problems: list[tuple[str, str]] = []
        if not self.rate.success:
            problems.append(("privacy.k_anonymity.max_suppressed_rate",
                             f"remove {self.report.suppressed} of {self.report.rows_in} rows ({self.rate.observed:.1%}), "
                             f"more than the agreed {self.max_rate:.1%}"))
        for g in self.groups:
            d = g.verdict.details
            if d["vanished"]:
                problems.append(("bias_checks.protected_attributes",
                                 f"remove every row of {_groups(len(d['vanished']), g.attribute)}"
                                 " (a protected group never vanishes from a release)"))
            if d["shrunk"]:
                problems.append(("bias_checks.max_drift",
                                 f"shrink the share of {_groups(len(d['shrunk']), g.attribute)} "
                                 f"by up to {g.verdict.observed:.1%}, more than the bias check's max_drift {g.max_drift}"))
        if problems:
            said = "; and ".join(f"{text} [{clause}]" for clause, text in problems)
            raise PolicyViolation(
                problems[0][0],
                f"dataset {dataset_id}: reaching k={self.report.k} over {self.quasi_identifiers}{self._where()} would "
                f"{said}; declare coarser levels for the quasi-identifiers (coarser periods, shorter postcodes, wider "
                "bands, up to {method: any}) in their hierarchy, or agree a lower k or a higher max_suppressed_rate")

    def _where(self) -> str:
        climbed = [f"{q} level {n} of {len(self.hierarchies.get(q, []))}" for q, n in self.levels.items()
                   if self.hierarchies.get(q)]
        return f" (even at {', '.join(climbed)} of the agreed hierarchies)" if climbed else ""


def _groups(n: int, attribute: str) -> str:
    return f"{n} {attribute} group{'s' if n != 1 else ''}"


def _json(level: Any) -> Any:
    level = level_of(level)
    return level.model_dump(mode="json", exclude={"examples"}, exclude_defaults=False)


def _joined(parts: list[pa.Array]) -> pa.Array:
    """Class keys from the class columns' labels, as pactline.protect.suppression.class_keys joins them."""
    return parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, SEP)


def _histogram(sizes: pa.Array) -> dict[str, int]:
    """{"size": classes of that size}, ascending, as pactline.protect.suppression.size_histogram writes it."""
    if len(sizes) == 0:
        return {}
    vc = pc.value_counts(sizes)
    pairs = sorted(zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist(), strict=True))
    return {str(size): int(n) for size, n in pairs}


class _Lattice:
    """The class counts split into one text column per class column, at the node the search stands on (`at`, level
    0 to begin with), and each quasi-identifier's labels at every level above it climbed so far (computed once).
    The search only climbs, so every node it tries later is above `at`: `rebase` sums the counts at the node it
    moved to, and the next nodes are counted from those (fewer) classes instead of level 0's."""

    def __init__(self, counts: ClassCounts, hierarchies: Mapping[str, Sequence[Any]]):
        keys = pa.array(list(counts.sizes), pa.string())
        self.rows = pa.array(list(counts.sizes.values()), pa.int64())
        self.total = int(pc.sum(self.rows).as_py() or 0)
        cols = list(counts.qis)
        if len(cols) == 1:
            parts = [keys]
        else:
            split = pc.split_pattern(keys, SEP)
            parts = [pc.list_element(split, i) for i in range(len(cols))]
        self.parts = dict(zip(cols, parts, strict=True))
        self.hierarchies = {q: [level_of(x) for x in levels] for q, levels in hierarchies.items()}
        self.at = dict.fromkeys(cols, 0)
        self._levels: dict[tuple[str, int], pa.Array] = {}
        self._codes: dict[tuple[str, int], tuple[np.ndarray, pa.Array]] = {}

    def codes(self, column: str, level: int) -> tuple[np.ndarray, int]:
        """The labels as integer codes (dictionary indices) and how many distinct labels there are."""
        indices, dictionary = self._encoded(column, level)
        return indices, len(dictionary)

    def _encoded(self, column: str, level: int) -> tuple[np.ndarray, pa.Array]:
        if (column, level) not in self._codes:
            encoded = pc.dictionary_encode(self.labels(column, level))
            self._codes[column, level] = (encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64),
                                          encoded.dictionary)
        return self._codes[column, level]

    def group_rows(self, column: str, keep: np.ndarray | None = None) -> dict[str, int]:
        """Rows per label of `column` where it stands (a protected attribute), of the class rows in `keep`."""
        indices, dictionary = self._encoded(column, self.at[column])
        rows = self.rows.to_numpy(zero_copy_only=False)
        if keep is not None:
            indices, rows = indices[keep], rows[keep]
        sums = np.bincount(indices, weights=rows, minlength=len(dictionary))
        return {MISSING if g == NULL else g: int(n) for g, n in zip(dictionary.to_pylist(), sums, strict=True)
                if n > 0}

    def labels(self, column: str, level: int) -> pa.Array:
        if level == self.at[column]:
            return self.parts[column]
        if level < self.at[column]:
            raise ValueError("the search only climbs")
        if (column, level) not in self._levels:
            below = self.labels(column, level - 1)
            self._levels[column, level] = climb(below, [self.hierarchies[column][level - 1]], keys=True)
        return self._levels[column, level]

    def rebase(self, levels: Mapping[str, int]) -> None:
        """Sum the class counts at `levels` (each at or above where the lattice stands)."""
        if all(self.at[q] == n for q, n in levels.items()):
            return
        table = pa.table({**{c: self.labels(c, levels.get(c, self.at[c])) for c in self.parts}, "rows": self.rows})
        summed = table.group_by(list(self.parts)).aggregate([("rows", "sum")])
        self.parts = {c: summed[c].combine_chunks() for c in self.parts}
        self.rows = summed["rows_sum"].combine_chunks()
        self.at = {c: levels.get(c, self.at[c]) for c in self.parts}
        self._levels, self._codes = {}, {}

    def key(self, qis: list[str], node: tuple[int, ...]) -> pa.Array:
        """One key per class row at `node`: the quasi-identifiers' codes in mixed radix (an int64), or their labels
        joined when the codes could overflow."""
        codes = [self.codes(q, n) for q, n in zip(qis, node, strict=True)]
        if math.prod(max(size, 1) for _, size in codes) >= 2**62:
            return _joined([self.labels(q, n) for q, n in zip(qis, node, strict=True)])
        key = np.zeros(len(self.rows), np.int64)
        for indices, size in codes:
            key = key * max(size, 1) + indices
        return pa.array(key, pa.int64())


def _evaluate(lattice: _Lattice, qis: list[str], node: tuple[int, ...], k: int, *, suppress: bool,
              max_rate: float, groups: Mapping[str, float], hierarchies: dict[str, list[Any]]) -> Anonymisation:
    key = lattice.key(qis, node)
    classes = pa.table({"key": key, "rows": lattice.rows}).group_by("key").aggregate([("rows", "sum")])
    sizes = classes["rows_sum"].combine_chunks()
    below = pc.less(sizes, k)
    small_keys = classes["key"].combine_chunks().filter(below) if suppress else pa.array([], key.type)
    removed = pc.is_in(key, value_set=small_keys)
    suppressed = int(pc.sum(lattice.rows.filter(removed)).as_py() or 0)
    kept = sizes.filter(pc.invert(below)) if suppress else sizes
    report = Suppression(list(qis), k, lattice.total, lattice.total - suppressed, len(sizes),
                         int(pc.sum(below).as_py() or 0), _histogram(sizes.filter(below)))
    kept_rows = ~removed.to_numpy(zero_copy_only=False)
    checks = [GroupsKept(attr, drift, verdicts.groups_kept(lattice.group_rows(attr), lattice.group_rows(attr, kept_rows),
                                                           drift))
              for attr, drift in groups.items()]
    squares = int(pc.sum(pc.multiply(kept, kept)).as_py() or 0) if len(kept) else 0
    parts = [lattice.labels(q, n) for q, n in zip(qis, node, strict=True)]
    return Anonymisation(list(qis), dict(zip(qis, node, strict=True)), hierarchies, report, _histogram(kept),
                         verdicts.suppressed_rate(suppressed, lattice.total, max_rate), max_rate, checks,
                         squares + suppressed * lattice.total, removed_parts=(parts, removed))


def anonymise(counts: ClassCounts, quasi_identifiers: Sequence[str], k: int, *, max_suppressed_rate: float,
              suppress: bool = True, hierarchies: Mapping[str, Sequence[Any]] | None = None,
              protected_groups: Mapping[str, float] | None = None) -> Anonymisation:
    """The node of the generalisation lattice the greedy search chooses (see the module docstring), with the classes
    suppression removes there. `counts` is over the quasi-identifiers and then the protected attributes not among
    them; `hierarchies` gives a quasi-identifier's levels above level 0; `protected_groups` each protected
    attribute's max_drift. Without `suppress` nothing is removed and no level climbed (the agreement only counts).
    Does not raise: call `require` on the result."""
    qis = list(quasi_identifiers)
    columns = list(counts.qis)
    if columns[: len(qis)] != qis:
        raise ValueError(f"class counts over {columns} do not start with the quasi-identifiers {qis}")
    hier = {q: list(hierarchies.get(q) or []) for q in qis} if hierarchies else {q: [] for q in qis}
    if not suppress:
        hier = {q: [] for q in qis}
    groups = {a: d for a, d in (protected_groups or {}).items() if a in columns}
    lattice = _Lattice(counts, {q: v for q, v in hier.items() if v})

    def evaluate(node: tuple[int, ...]) -> Anonymisation:
        return _evaluate(lattice, qis, node, k, suppress=suppress, max_rate=max_suppressed_rate,
                         groups=groups if suppress else {}, hierarchies=hier)

    node = tuple(0 for _ in qis)
    best, tried = evaluate(node), 1
    while not best.ok:
        moves = [(*node[:i], node[i] + 1, *node[i + 1:]) for i, q in enumerate(qis) if node[i] < len(hier[q])]
        if not moves:
            break
        attempts = [evaluate(m) for m in moves]
        tried += len(attempts)
        best = min(attempts, key=lambda a: (sum(not g.verdict.success for g in a.groups), not a.rate.success,
                                            a.discernibility))  # min keeps the first of equals: QI order
        node = tuple(best.levels[q] for q in qis)
        lattice.rebase(best.levels)
    best.nodes_tried = tried
    return best


__all__ = ["Anonymisation", "GroupsKept", "anonymise"]
