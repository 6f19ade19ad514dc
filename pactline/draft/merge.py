"""A drafted fragment checked as agreement text, alone or merged into an existing agreement.

Alone, it is validated inside a minimal agreement (the provider and a placeholder recipient, one output), so a
draft that would not load is never handed out. Merged (`--into`), its dataset item and quality rules are inserted
into the agreement's text, comments and layout kept, under a new minor `metadata.version`: the parties' signatures
are on the old version, so the merged text is an unsigned change until every party signs it (`pactline sign`),
and `pactline diff` lists what it widened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pactline.agreement import LoadedAgreement, load_text
from pactline.agreement.diff import Change, diff_agreements
from pactline.agreement.loader import parse_yaml, validate_data
from pactline.draft.render import dataset_item, quality_items
from pactline.errors import AgreementError, Problem

SKELETON_RECIPIENT = "draft-recipient"


def check_fragment(text: str, provider: str, source: str = "<draft>") -> None:
    """Raise AgreementError when the drafted fragment would not load inside an agreement."""
    data, _ = parse_yaml(text, source)
    dataset = data["datasets"][0]
    # columns with a generalisation hierarchy are quasi-identifiers of the agreement's k-anonymity
    climbing = [n for n, c in dataset.get("columns", {}).items() if isinstance(c, dict) and c.get("hierarchy")]
    skeleton = {
        "apiVersion": "pactline/v1", "kind": "DataSharingAgreement",
        "metadata": {"id": "draft", "version": "0.1.0", "title": "draft", "effective": "2026-01-01",
                     "expires": "2027-01-01"},
        "parties": [{"id": provider, "name": provider, "role": "provider", "jurisdiction": "NL"},
                    {"id": SKELETON_RECIPIENT, "name": "recipient", "role": "recipient", "jurisdiction": "NL"}],
        "purposes": [{"id": "draft", "description": "draft", "permitted_model_types": ["any"]}],
        "datasets": data["datasets"],
        "quality_rules": data.get("quality_rules", []),
        "outputs": [{"id": "draft-release", "dataset": dataset["id"], "kind": "protected", "zone": "sandbox",
                     "recipient": SKELETON_RECIPIENT, "purpose": "draft"}],
        "keys": {"pseudonymisation": "draft_pseudonym_key"},
        **({"privacy": {"k_anonymity": {"k": 2, "quasi_identifiers": climbing}}} if climbing else {}),
        "incident_response": {"notification_deadline_hours": 48,
                              "contacts": [{"name": "steward", "email": "steward@example.org"}]},
    }
    validate_data(skeleton, {}, source)


def next_version(version: str) -> str:
    parts = [int(p) for p in version.split(".")] + [0] * (3 - len(version.split(".")))
    return f"{parts[0]}.{parts[1] + 1}.0"


def _top_level_end(lines: list[str], key: str) -> tuple[int, int] | None:
    """(line of `key:`, line after its block) of a top-level key of the agreement text."""
    start = next((i for i, line in enumerate(lines) if re.match(rf"^{re.escape(key)}\s*:", line)), None)
    if start is None:
        return None
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^[A-Za-z_]", lines[i])), len(lines))
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return start, end


def _item_indent(lines: list[str], start: int, end: int) -> str:
    for line in lines[start + 1:end]:
        m = re.match(r"^(\s*)- ", line)
        if m:
            return m.group(1)
    return "  "


@dataclass
class Merged:
    text: str
    loaded: LoadedAgreement
    old_version: str
    new_version: str
    changes: list[Change]


def merge_into(agreement_text: str, source: str, dataset: dict[str, Any], why: dict[str, str],
               rules: list[dict[str, Any]], note: str) -> Merged:
    """The agreement text with the drafted dataset and its rules inserted, under the next minor version."""
    old = load_text(agreement_text, source)
    agreement = old.agreement
    if any(d.id == dataset["id"] for d in agreement.datasets):
        raise AgreementError(source, [Problem("datasets", None, f"dataset {dataset['id']!r} is already declared; "
                                                                "choose another --dataset id")])
    if dataset["provider"] not in {p.id for p in agreement.parties}:
        raise AgreementError(source, [Problem("parties", None, f"--provider {dataset['provider']!r} is no party of "
                                                               f"{agreement.metadata.id}; add the party first")])
    lines = agreement_text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    old_version = agreement.metadata.version
    new_version = next_version(old_version)
    meta = _top_level_end(lines, "metadata")
    assert meta is not None  # a loaded agreement has metadata
    for i in range(meta[0] + 1, meta[1]):
        if re.match(r"^\s+version\s*:", lines[i]):
            lines[i] = re.sub(r"(version\s*:\s*).*", lambda m: m.group(1) + f'"{new_version}"', lines[i].rstrip("\n"))
            lines[i] += f"  # {note}\n"
            break
    if rules:
        block = _top_level_end(lines, "quality_rules")
        if block is None:
            lines += ["quality_rules:\n", quality_items(rules)]
        else:
            lines.insert(block[1], quality_items(rules, _item_indent(lines, *block)))
    block = _top_level_end(lines, "datasets")
    assert block is not None
    indent = _item_indent(lines, *block)
    lines.insert(block[1], f"{indent}# {note}\n" + dataset_item(dataset, why, indent))
    text = "".join(lines)
    new = load_text(text, source)
    return Merged(text, new, old_version, new_version, diff_agreements(agreement, new.agreement))


