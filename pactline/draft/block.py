"""The draft dataset block of a partner's file: columns (type, category, transformation, pii_entity) and the
quality rules profiled from the data, with the reason for each column.

Rules, and what they may carry (the draft is read by people who must not see partner data, except where the
steward has to decide):
- not_null when no value is missing; unique when every value differs (record keys, identifiers);
- range for numeric columns other than identifiers and labels, bounds rounded outward to one significant digit
  (the magnitude, not an observed value);
- regex for code-like strings: character classes and punctuation of the values' shapes, never a character of a
  value;
- allowed_values only for low-cardinality non-personal or label columns whose every value occurs at least
  RARE times: these are values of the data, listed because the steward must review them before signing;
- row_count at least the rows seen, rounded down to one significant digit.
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa

from pactline.draft.categorise import (
    DIRECT,
    LABEL,
    NON_PERSONAL,
    RARE,
    Verdict,
    categorise,
)
from pactline.draft.profile import Profile, code_pattern, profile_column, round_out

ALLOWED_VALUES = 12  # at most this many distinct values are listed as allowed values
MIN_ROWS = 20  # fewer rows say nothing about uniqueness, ranges or allowed values
MAX_VALUE_CHARS = 40


def canonical_name(partner: str) -> str:
    """snake_case of the partner's column name (the agreement's own name; the mapping keeps the partner's)."""
    name = re.sub(r"[^0-9a-zA-Z]+", "_", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", partner)).strip("_").lower()
    return name or partner


def _rules(name: str, prof: Profile, verdict: Verdict) -> tuple[list[dict[str, Any]], list[str]]:
    rules: list[dict[str, Any]] = []
    why: list[str] = []
    enough = prof.non_null >= MIN_ROWS
    if prof.rows and prof.nulls == 0:
        rules.append({"column": name, "rule": "not_null"})
        why.append(f"not_null: none of {prof.rows} rows is empty")
    elif prof.nulls:
        why.append(f"{prof.nulls} of {prof.rows} rows empty")
    if enough and prof.distinct == prof.non_null and verdict.type in ("string", "integer") and \
            verdict.draft_category not in ("free_text",):
        rules.append({"column": name, "rule": "unique"})
        why.append("unique: every value differs")
    listed = (enough and prof.top and prof.distinct <= ALLOWED_VALUES and verdict.category in (NON_PERSONAL, LABEL)
              and verdict.type != "boolean" and verdict.draft_category != "free_text"
              and min(n for _, n in prof.top) >= RARE
              and all(isinstance(v, str | int) and len(str(v)) <= MAX_VALUE_CHARS for v, _ in prof.top))
    if enough and prof.numeric and verdict.category not in (DIRECT, LABEL) and verdict.type in ("integer", "float") \
            and prof.low is not None and prof.high is not None and not listed:
        rules.append({"column": name, "rule": "range", "min": round_out(prof.low, down=True),
                      "max": round_out(prof.high, down=False)})
        why.append("range: the observed bounds rounded outward to one significant digit")
    if listed:
        rules.append({"column": name, "rule": "allowed_values", "values": sorted(v for v, _ in prof.top)})
        why.append(f"allowed_values: {prof.distinct} values, each in at least {RARE} rows; values of the data, "
                   "for the steward to review")
    elif enough and verdict.type in ("string", "categorical") and verdict.draft_category != "free_text":
        pattern = code_pattern(prof)
        if pattern and (prof.distinct > ALLOWED_VALUES or verdict.category == DIRECT):
            regex, covered = pattern
            mostly = 1.0 if covered == 1 else 0.99
            rules.append({"column": name, "rule": "regex", "pattern": regex,
                          **({"mostly": mostly} if mostly < 1 else {})})
            shapes = len(regex.split("|"))
            why.append(f"regex: its values have {shapes} shape{'s' if shapes > 1 else ''} "
                       f"({covered:.0%} of those looked at)")
    return rules, why


def draft_dataset(table: pa.Table, report: Any, dataset_id: str, provider: str, source: dict[str, Any]
                  ) -> dict[str, Any]:
    """{"dataset": block, "quality_rules": [...], "why": {canonical name: reason}, "categories": {partner name:
    draft category}} of the partner's table, given the PII scan's report of it."""
    by_name = {c.name: c for c in report.columns}
    columns: dict[str, Any] = {}
    mapping: dict[str, str] = {}
    why: dict[str, str] = {}
    categories: dict[str, str] = {}
    rules: list[dict[str, Any]] = []
    for partner in table.column_names:
        name = canonical_name(partner)
        if name in columns:  # two partner names with one snake_case form: keep the partner's own
            name = partner
        column = table.column(partner)
        prof = profile_column(partner, column, ALLOWED_VALUES)
        verdict = categorise(prof, column, by_name.get(partner))
        declared: dict[str, Any] = {"type": verdict.type, "category": verdict.category}
        if verdict.legal_basis != "not_applicable":
            declared["legal_basis"] = verdict.legal_basis
        if verdict.pii_entity:
            declared["pii_entity"] = verdict.pii_entity
        declared["transformation"] = verdict.transformation
        columns[name] = declared
        if name != partner:
            mapping[partner] = name
        col_rules, rule_why = _rules(name, prof, verdict)
        rules += [{"dataset": dataset_id, **r} for r in col_rules]
        source_note = f"{partner} -> {name}: " if name != partner else f"{name}: "
        why[name] = source_note + "; ".join(verdict.why + rule_why) + "."
        categories[partner] = verdict.draft_category
    if table.num_rows >= MIN_ROWS:
        rules.append({"dataset": dataset_id, "rule": "row_count", "min": int(round_out(table.num_rows, down=True))})
    block: dict[str, Any] = {"id": dataset_id, "provider": provider, "source": source}
    if mapping:
        block["schema_mapping"] = mapping
    block["columns"] = columns
    return {"dataset": block, "quality_rules": rules, "why": why, "categories": categories}
