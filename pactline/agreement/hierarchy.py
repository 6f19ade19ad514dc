"""Generalisation hierarchies: the coarser levels a quasi-identifier may be generalised to when k-anonymity
needs it.

Level 0 is the column's own `generalise` transformation; `hierarchy` lists the levels above it, finest first,
each coarser than the one before (the last may be `{method: any}`, every value one label, as ARX's hierarchies
end in "*"). Each level is computed from the level below's labels, so a level has to nest in the one below:

    date      month -> quarter -> year -> decade (granularities strictly coarser)
    truncate  keep 5 -> 3 -> 1 (strictly fewer characters)
    bands     width 5 -> 10 -> 20 (each width a multiple of the one below), or explicit edges that are
              multiples of the width below, or a strict subset of the edges below
    any       "*" (or the given label): the column no longer tells anyone apart; nulls included

Example (the agreement's YAML):

    postcode:
      transformation: {kind: generalise, method: truncate, keep: 3}
      hierarchy: [{method: truncate, keep: 2}, {method: truncate, keep: 1}, {method: any}]

The search that picks a level per quasi-identifier is pactline.protect.anonymise; what the labels of a level are
is pactline.protect.hierarchy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import Field

from pactline.agreement.base import Strict
from pactline.agreement.transformations import GeneraliseDate, GeneraliseNumber, GeneralisePostcode

# date granularities from finest to coarsest
DATE_ORDER = ("month", "quarter", "year", "decade")


class GeneraliseAny(Strict):
    """The top of a hierarchy: every value (null included) becomes `label`."""

    kind: Literal["generalise"] = "generalise"
    method: Literal["any"] = "any"
    label: str = Field(default="*", min_length=1, max_length=16)


HierarchyLevel = Annotated[
    GeneraliseDate | GeneraliseNumber | GeneralisePostcode | GeneraliseAny,
    Field(discriminator="method"),
]


def _multiple(x: float, of: float) -> bool:
    ratio = x / of
    return math.isclose(ratio, round(ratio), rel_tol=0, abs_tol=1e-9)


def _nests(finer: object, coarser: object) -> str | None:
    """Why `coarser` is not computable from `finer`'s labels (None when it is)."""
    if isinstance(coarser, GeneraliseAny):
        return None
    if type(coarser) is not type(finer):
        return (f"a {coarser.method} level cannot follow a {finer.method} level: keep the column's method, "  # type: ignore[attr-defined]
                "or end with {method: any}")
    if isinstance(finer, GeneraliseDate) and isinstance(coarser, GeneraliseDate):
        if DATE_ORDER.index(coarser.granularity) <= DATE_ORDER.index(finer.granularity):
            return (f"granularity {coarser.granularity} is not coarser than {finer.granularity} "
                    f"(order: {' -> '.join(DATE_ORDER)})")
        return None
    if isinstance(finer, GeneralisePostcode) and isinstance(coarser, GeneralisePostcode):
        return None if coarser.keep < finer.keep else f"keep {coarser.keep} is not fewer than {finer.keep}"
    if isinstance(finer, GeneraliseNumber) and isinstance(coarser, GeneraliseNumber):
        if finer.width is not None:
            if coarser.width is not None:
                ok = coarser.width > finer.width and _multiple(coarser.width, finer.width)
                return None if ok else f"width {coarser.width:g} is not a larger multiple of {finer.width:g}"
            if all(_multiple(e, finer.width) for e in coarser.edges or []):
                return None
            return f"edges {coarser.edges} are not all multiples of the width {finer.width:g} below"
        if coarser.edges is None:
            return ("equal-width bands cannot follow explicit edges (the open bands '<first' and '>=last' fit "
                    "in no band of a width): give edges that are a subset of the ones below")
        if set(coarser.edges) < set(finer.edges or []):
            return None
        return f"edges {coarser.edges} are not a strict subset of {finer.edges}"
    return f"method {getattr(coarser, 'method', '?')} has no hierarchy"


def hierarchy_problem(transformation: object, levels: Sequence[object]) -> str | None:
    """What is wrong with a column's hierarchy (None when nothing is): it refines a date, bands or truncate
    generalisation, each level nests in the one below, and `any` comes last."""
    if not levels:
        return None
    method = getattr(transformation, "method", None)
    if getattr(transformation, "kind", None) != "generalise" or method not in ("date", "bands", "truncate"):
        return ("a hierarchy refines the column's own generalisation: give the column a transformation "
                "{kind: generalise, method: date | bands | truncate} as level 0")
    below = transformation
    for i, level in enumerate(levels):
        if isinstance(below, GeneraliseAny):
            return f"hierarchy[{i}] follows {{method: any}}, which has to be the last level"
        why = _nests(below, level)
        if why:
            return f"hierarchy[{i}]: {why}"
        below = level
    return None


__all__ = ["DATE_ORDER", "GeneraliseAny", "HierarchyLevel", "hierarchy_problem"]
