"""How Pactline's terms read in ODCS and back: column types, the type a transformation releases, quality rules.

One table per direction pair, so export and import cannot drift apart. Quality rules use ODCS library metrics
where one says the same thing (nullValues, duplicateValues, invalidValues with validValues or pattern,
rowCount); a range has no library metric, so it is an SQL check (a count of rows outside it must be 0). Every
item also carries the Pactline rule as a custom property, so Pactline reads its own contracts back exactly.
"""

from __future__ import annotations

from typing import Any

LOGICAL_TYPE = {"string": "string", "text": "string", "categorical": "string", "integer": "integer",
                "float": "number", "boolean": "boolean", "date": "date", "timestamp": "timestamp"}
PACTLINE_TYPE = {"string": "string", "integer": "integer", "number": "float", "boolean": "boolean", "date": "date",
                 "timestamp": "timestamp", "time": "string"}
# transformations that release the column's own type; every other one releases text (pactline.protect.engine)
TYPE_KEEPING = frozenset({"keep", "date_shift"})

RULE_PROPERTY = "pactlineRule"  # the custom property holding the Pactline quality rule an ODCS item stands for
COLUMN_PROPERTY = "pactlineColumn"  # the custom property holding a column's Pactline declaration


def released_type(column_type: str, transformation_kind: str) -> str:
    """The Pactline type of a column as released after its transformation."""
    return column_type if transformation_kind in TYPE_KEEPING else "string"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quality_item(rule: dict[str, Any], object_name: str) -> dict[str, Any]:
    """One ODCS quality item for a Pactline quality rule (a dict as the agreement writes it, without `dataset`)."""
    kind, column, mostly = rule["rule"], rule.get("column"), rule.get("mostly", 1.0)
    tolerance = ({"unit": "percent", "mustBeLessOrEqualTo": round((1 - mostly) * 100, 6)} if mostly < 1
                 else {"unit": "rows", "mustBe": 0})
    item: dict[str, Any]
    if kind == "not_null":
        item = {"metric": "nullValues", "dimension": "completeness", **tolerance}
    elif kind == "unique":
        item = {"metric": "duplicateValues", "dimension": "uniqueness", **tolerance}
    elif kind == "allowed_values":
        item = {"metric": "invalidValues", "dimension": "conformity", "arguments": {"validValues": rule["values"]},
                **tolerance}
    elif kind == "regex":
        item = {"metric": "invalidValues", "dimension": "conformity", "arguments": {"pattern": rule["pattern"]},
                **tolerance}
    elif kind == "row_count":
        bounds = [rule.get("min"), rule.get("max")]
        item = {"metric": "rowCount", "dimension": "completeness",
                **({"mustBeBetween": bounds} if None not in bounds
                   else {"mustBeGreaterOrEqualTo": bounds[0]} if bounds[0] is not None
                   else {"mustBeLessOrEqualTo": bounds[1]})}
    else:  # range
        outside = " OR ".join(([f"{_quote(column)} < {rule['min']}"] if rule.get("min") is not None else [])
                              + ([f"{_quote(column)} > {rule['max']}"] if rule.get("max") is not None else []))
        item = {"type": "sql", "dimension": "accuracy",
                # the contract's text for its tools: numbers of the validated agreement, identifiers quoted
                "query": f"SELECT COUNT(*) FROM {_quote(object_name)} WHERE {outside}",  # noqa: S608
                "mustBe": 0}
        if mostly < 1:
            item["description"] = f"at least {mostly:.0%} of rows in range"
    if item.get("metric"):
        item = {"type": "library", **item}
    kept = {k: v for k, v in rule.items() if v is not None and k != "dataset" and not (k == "mostly" and v == 1.0)}
    return {"name": f"{kind}" + (f" {column}" if column else ""), **item, "severity": "error",
            "customProperties": [{"property": RULE_PROPERTY, "value": kept}]}


def rule_from_item(item: dict[str, Any], column: str | None) -> dict[str, Any] | None:
    """The Pactline quality rule an ODCS quality item stands for (None when there is none: an SQL, text or
    custom check of another tool). Pactline's own custom property wins; otherwise the library metric decides."""
    for prop in item.get("customProperties") or []:
        if prop.get("property") == RULE_PROPERTY and isinstance(prop.get("value"), dict):
            return {**({"column": column} if column else {}), **prop["value"]}
    metric, args = item.get("metric") or item.get("rule"), item.get("arguments") or {}
    mostly = 1.0
    if item.get("unit") == "percent" and isinstance(item.get("mustBeLessOrEqualTo"), int | float):
        share = 1 - item["mustBeLessOrEqualTo"] / 100
        mostly = share if 0 < share <= 1 else 1.0
    extra = {"mostly": mostly} if mostly < 1 else {}
    if metric in ("nullValues", "missingValues") and column:
        return {"column": column, "rule": "not_null", **extra}
    if metric == "duplicateValues" and column:
        return {"column": column, "rule": "unique", **extra}
    if metric == "invalidValues" and column and args.get("validValues"):
        return {"column": column, "rule": "allowed_values", "values": list(args["validValues"]), **extra}
    if metric == "invalidValues" and column and args.get("pattern"):
        return {"column": column, "rule": "regex", "pattern": str(args["pattern"]), **extra}
    if metric == "rowCount" and not column:
        low, high = (item.get("mustBeBetween") or [None, None])[:2]
        low = item.get("mustBeGreaterOrEqualTo", low)
        high = item.get("mustBeLessOrEqualTo", high)
        if low is not None or high is not None:
            return {"rule": "row_count", **({"min": low} if low is not None else {}),
                    **({"max": high} if high is not None else {})}
    return None
