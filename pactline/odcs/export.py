"""One ODCS v3 contract per released output of an agreement: what the recipient gets, as the agreement promises it.

- schema: the output's columns after protection (dropped ones left out), each with the type it is released as,
  its category as `classification`, the agreed transformation as `transformLogic` / `transformDescription`,
  and the Pactline declaration as a custom property (so `pactline import odcs` reads it back exactly);
- quality: the agreement's quality rules that still hold on the released data (pactline.odcs.terms);
- slaProperties: retention of the output's zone, availability from the agreement's effective date, end of
  support at its expiry and end of life when everything is purged after termination;
- team and support: the parties (provider, recipient) and their contacts; roles: the access grants on the zone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pactline.agreement import LoadedAgreement
from pactline.agreement.model import Agreement, Column, Output
from pactline.agreement.wording import describe_transformation
from pactline.errors import AgreementError, Problem
from pactline.odcs.contract import validate_contract
from pactline.odcs.terms import COLUMN_PROPERTY, LOGICAL_TYPE, quality_item, released_type

API_VERSION = "v3.1.0"
# rules that still hold after these transformations (a keyed pseudonym is as unique and as present as the value)
SURVIVES = {"keep": {"not_null", "unique", "range", "allowed_values", "regex"}, "pseudonymise": {"not_null", "unique"},
            "encrypt": {"not_null", "unique"}, "date_shift": {"not_null"}}


def _property(name: str, column: Column, source: str) -> dict[str, Any]:
    transformation = column.transformation.model_dump(mode="json", exclude={"examples"}, exclude_none=True)
    declared = {"type": column.type, "category": column.category, "legal_basis": column.legal_basis,
                **({"pii_entity": column.pii_entity} if column.pii_entity else {}),
                **({"description": column.description} if column.description else {}),
                "transformation": transformation,
                **({"hierarchy": [h.model_dump(mode="json", exclude={"examples"}, exclude_none=True)
                                  for h in column.hierarchy]} if column.hierarchy else {})}
    kind = transformation["kind"]
    return {
        "name": name,
        "logicalType": LOGICAL_TYPE[released_type(column.type, kind)],
        "required": not column.nullable or None,
        "classification": column.category,
        **({"description": column.description} if column.description else {}),
        "transformSourceObjects": [source],
        "transformLogic": describe_transformation(transformation),
        "transformDescription": "released unchanged" if kind == "keep" else f"agreed transformation {kind}",
        "customProperties": [{"property": COLUMN_PROPERTY, "value": declared}],
    }


def _rules(agreement: Agreement, output: Output, released: set[str]) -> list[dict[str, Any]]:
    """The dataset's quality rules that hold on this output's released rows and columns."""
    ds = agreement.dataset(output.dataset)
    kanon = agreement.privacy.k_anonymity
    suppressed = bool(kanon and kanon.suppress and set(kanon.quasi_identifiers) & set(ds.columns))
    out = []
    for rule in agreement.quality_rules:
        if rule.dataset != ds.id:
            continue
        if rule.column is None:
            if rule.rule == "row_count" and not (suppressed or output.kind != "protected"):
                out.append(rule)  # suppression, synthesis and a holdout split change the row count
        elif rule.column in released and rule.rule in SURVIVES.get(ds.columns[rule.column].transformation.kind, ()):
            out.append(rule)
    return [r.model_dump(mode="json", exclude_none=True) for r in out]


def _contract(agreement: Agreement, fingerprint: str, output: Output) -> dict[str, Any]:
    meta, ds = agreement.metadata, agreement.dataset(output.dataset)
    provider = next(p for p in agreement.parties if p.id == ds.provider)
    recipient = next(p for p in agreement.parties if p.id == output.recipient)
    purpose = next(p for p in agreement.purposes if p.id == output.purpose)
    partner = {canonical: p for p, canonical in ds.schema_mapping.items()}
    evaluation = agreement.evaluation_for(output.purpose) if output.kind == "evaluation" else None
    withheld = {evaluation.label} if evaluation else set()  # an evaluation holdout is released without its labels
    properties = [_property(name, col, f"{ds.id}.{partner.get(name, name)}")
                  for name, col in ds.columns.items() if col.transformation.kind != "drop" and name not in withheld]
    by_column: dict[str | None, list[dict[str, Any]]] = {}
    for rule in _rules(agreement, output, {p["name"] for p in properties}):
        by_column.setdefault(rule.get("column"), []).append(quality_item(rule, output.id))
    for prop in properties:
        if prop["name"] in by_column:
            prop["quality"] = by_column[prop["name"]]
    retention = agreement.retention
    end_of_life = meta.expires + dt.timedelta(days=retention.after_termination_days)
    grants = [g for g in agreement.access if g.zone == output.zone]
    approvers = ", ".join(g.principal for g in grants if "approve" in g.permissions)
    contacts = {(c.name, str(c.email)) for p in (provider, recipient) for c in p.contacts}
    contacts |= {(c.name, str(c.email)) for c in agreement.incident_response.contacts}
    contract = {
        "apiVersion": API_VERSION,
        "kind": "DataContract",
        "id": f"{meta.id}.{output.id}",
        "name": output.id,
        "version": meta.version,
        "status": "active",
        "domain": meta.id,
        "dataProduct": meta.title,
        "tags": ["pactline", output.kind, output.zone],
        "description": {
            "purpose": purpose.description,
            "usage": f"{output.kind} release of dataset {ds.id} from {provider.name} to {recipient.name}, zone "
                     f"{output.zone}, for purpose {purpose.id} (model types: {', '.join(purpose.permitted_model_types)})",
            "limitations": " ".join(r.description for r in agreement.restrictions) or None,
        },
        "schema": [{"name": output.id, "physicalName": output.id, "logicalType": "object", "physicalType": "table",
                    **({"description": ds.description} if ds.description else {}),
                    "properties": properties,
                    **({"quality": by_column[None]} if None in by_column else {})}],
        "team": {"name": meta.title, "members": [
            {"username": p.id, "name": p.name, "role": p.role if p.id != recipient.id else "recipient",
             "description": f"jurisdiction {p.jurisdiction}"} for p in (provider, recipient)]},
        "support": [{"channel": name, "url": f"mailto:{email}", "tool": "email"} for name, email in sorted(contacts)],
        "roles": [{"role": g.principal, "access": ", ".join(g.permissions),
                   "description": f"zone {g.zone} until {g.valid_until.isoformat()}",
                   **({"firstLevelApprovers": approvers} if approvers else {})} for g in grants] or None,
        "slaProperties": [
            {"property": "retention", "value": retention.days_for(output.zone), "unit": "d", "driver": "regulatory",
             "description": f"each version is crypto-shredded {retention.days_for(output.zone)} days after release"},
            {"property": "generalAvailability", "value": meta.effective.isoformat()},
            {"property": "endOfSupport", "value": meta.expires.isoformat()},
            {"property": "endOfLife", "value": end_of_life.isoformat(), "driver": "regulatory",
             "description": "every copy is purged after termination"},
        ],
        "customProperties": [
            {"property": "pactlineAgreement", "value": {"id": meta.id, "version": meta.version,
                                                        "fingerprint": fingerprint}},
            {"property": "pactlineOutput", "value": {"id": output.id, "dataset": ds.id, "kind": output.kind,
                                                     "zone": output.zone, "provider": provider.id,
                                                     "recipient": recipient.id, "purpose": purpose.id,
                                                     "approval_required": output.approval_required}},
        ],
    }
    return _without_none(contract)


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def export_contracts(loaded: LoadedAgreement, output_id: str | None = None) -> dict[str, dict[str, Any]]:
    """{output id: ODCS contract} for every output (or the one named), each validated against the standard."""
    agreement = loaded.agreement
    outputs = [o for o in agreement.outputs if output_id is None or o.id == output_id]
    if not outputs:
        known = ", ".join(o.id for o in agreement.outputs)
        raise AgreementError(loaded.source, [Problem("outputs", None, f"no output {output_id!r}; known: {known}")])
    out = {}
    for output in outputs:
        contract = _contract(agreement, loaded.fingerprint, output)
        validate_contract(contract, f"{loaded.source} (ODCS contract of output {output.id})")
        out[output.id] = contract
    return out
