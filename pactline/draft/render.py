"""A drafted dataset block as agreement YAML, with a comment above every column saying why it was drafted so.

The text is a fragment of an agreement (`datasets:` with one item, and `quality_rules:`), ready to paste or to be
merged with `--into`. Comments are written by Pactline from column names, counts and shapes, never from values.
"""

from __future__ import annotations

import textwrap
from typing import Any

import yaml

INDENT = "  "


def _dump(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


def _comment(text: str, indent: str) -> str:
    lines = textwrap.wrap(" ".join(text.split()), width=110 - len(indent)) or [""]
    return "".join(f"{indent}# {line}\n" for line in lines)


def dataset_item(dataset: dict[str, Any], why: dict[str, str], indent: str = INDENT) -> str:
    """One `- id: ...` item of `datasets:` (at `indent`), each column preceded by its comment."""
    head = {k: v for k, v in dataset.items() if k != "columns"}
    body = textwrap.indent(_dump(head), indent + "  ")
    body = indent + "- " + body[len(indent) + 2:]
    body += f"{indent}  columns:\n"
    for name, column in dataset["columns"].items():
        if why.get(name):
            body += _comment(why[name], indent + "    ")
        body += textwrap.indent(_dump({name: column}), indent + "    ")
    return body


def quality_items(rules: list[dict[str, Any]], indent: str = INDENT) -> str:
    """Items of `quality_rules:` (at `indent`), one flow mapping a line like the example agreements write them."""
    return "".join(f"{indent}- {yaml.safe_dump(r, default_flow_style=True, sort_keys=False, width=10**6).strip()}\n"
                   for r in rules)


def render_fragment(dataset: dict[str, Any], why: dict[str, str], rules: list[dict[str, Any]],
                    header: str = "") -> str:
    text = _comment(header, "") if header else ""
    text += "datasets:\n" + dataset_item(dataset, why)
    if rules:
        text += "quality_rules:\n" + quality_items(rules)
    return text
