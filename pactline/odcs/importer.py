"""A draft dataset block (columns, types, quality rules) from an ODCS contract, for a provider to complete.

A contract Pactline exported carries each column's declaration as a custom property and is read back exactly.
Another tool's contract gives names, logical types, `required`, a classification that happens to be a Pactline
category, and its library quality checks; anything else (SQL, text or custom checks) is listed as not carried
over. Such columns are drafted as non-personal and kept: the steward decides what is personal.
"""

from __future__ import annotations

import re
from typing import Any, get_args

from pactline.agreement.model import Category
from pactline.odcs.terms import COLUMN_PROPERTY, PACTLINE_TYPE, rule_from_item

CATEGORIES = frozenset(get_args(Category))
PERSONAL = frozenset({"direct_identifier", "quasi_identifier", "sensitive", "protected_attribute"})


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")
    return slug if slug[:1].isalpha() else f"ds-{slug}".rstrip("-")


def _custom(item: dict[str, Any], name: str) -> Any:
    return next((p.get("value") for p in item.get("customProperties") or [] if p.get("property") == name), None)


def _column(prop: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """(column declaration, why): Pactline's own declaration when the contract carries one."""
    declared = _custom(prop, COLUMN_PROPERTY)
    if isinstance(declared, dict) and {"type", "category", "transformation"} <= set(declared):
        return dict(declared), "declared by Pactline in the contract"
    logical = prop.get("logicalType") or "string"
    category = prop.get("classification") if prop.get("classification") in CATEGORIES else "non_personal"
    column: dict[str, Any] = {"type": PACTLINE_TYPE.get(logical, "string"), "category": category}
    if category in PERSONAL:
        column["legal_basis"] = "legitimate_interests"  # a placeholder the parties must confirm
    if prop.get("required"):
        column["nullable"] = False
    if prop.get("description"):
        column["description"] = str(prop["description"])[:500]
    column["transformation"] = {"kind": "redact" if category == "direct_identifier" else "keep"}
    why = f"logicalType {logical}, classification {category}" + (
        "; legal_basis and transformation are placeholders to review" if category in PERSONAL else "")
    return column, why


def draft_from_contract(contract: dict[str, Any], provider: str, dataset_id: str | None = None,
                        schema_name: str | None = None) -> dict[str, Any]:
    """{"dataset": block, "quality_rules": [...], "why": {column: reason}, "skipped": [what was not carried over]}
    from one schema object of a validated contract (the first, or the one named)."""
    objects = contract.get("schema") or []
    obj = next((o for o in objects if schema_name is None or o.get("name") == schema_name), None)
    if obj is None:
        names = ", ".join(str(o.get("name")) for o in objects) or "none"
        raise ValueError(f"the contract has no schema object {schema_name!r} (schema objects: {names})")
    output = _custom(contract, "pactlineOutput") or {}
    ds_id = dataset_id or output.get("dataset") or _slug(str(obj.get("name") or contract.get("id") or "dataset"))
    columns, why, rules, skipped, mapping = {}, {}, [], [], {}
    for prop in obj.get("properties") or []:
        name = prop.get("name")
        if not name:
            skipped.append("a property without a name")
            continue
        columns[name], why[name] = _column(prop)
        sources = prop.get("transformSourceObjects") or []
        if len(sources) == 1 and isinstance(sources[0], str) and sources[0].startswith(f"{ds_id}."):
            partner = sources[0].removeprefix(f"{ds_id}.")  # the provider's own name of the column
            if partner and partner != name:
                mapping[partner] = name
        for i, item in enumerate(prop.get("quality") or []):
            rule = rule_from_item(item, name)
            if rule is None:
                skipped.append(f"quality check {i} of {name} ({item.get('type') or 'library'} "
                               f"{item.get('metric') or ''})".replace(" )", ")"))
            else:
                rules.append({"dataset": ds_id, **rule})
    for i, item in enumerate(obj.get("quality") or []):
        rule = rule_from_item(item, None)
        if rule is None:
            skipped.append(f"table-level quality check {i} ({item.get('type') or 'library'})")
        else:
            rules.append({"dataset": ds_id, **rule})
    block = {"id": ds_id, "provider": provider,
             "source": {"uri": f"../data/{ds_id}.parquet", "format": "parquet"},
             **({"schema_mapping": mapping} if mapping else {}),
             "columns": columns}
    if obj.get("description"):
        block["description"] = str(obj["description"])[:500]
    return {"dataset": block, "quality_rules": rules, "why": why, "skipped": skipped}
