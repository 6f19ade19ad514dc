"""The sections of a privacy impact assessment that say what the agreement declares for one dataset: parties and
roles, purposes and outputs, data categories and legal bases, transfers and their mechanisms, the transformation
of every column (as the plan carries it out), and retention and access.

Everything here is the agreement's own text (names, categories, clauses): nothing is read from partner data.
"""

from __future__ import annotations

from typing import Any

from pactline.agreement import LoadedAgreement
from pactline.agreement.model import Dataset
from pactline.pia.document import Cell, Code, Section, Verdict, heading, para, table
from pactline.plan import DatasetPlan

# GDPR Article 9 bases mark special-category data (health, ethnicity, ...): a privacy officer looks for them first
SPECIAL_CATEGORY_PREFIX = "art9_"


def params_text(params: dict[str, Any]) -> str:
    """A transformation's or a level's parameters as `name=value` (its kind left out, empty ones too)."""
    def value(v: Any) -> str:
        return "[" + ", ".join(str(x) for x in v) + "]" if isinstance(v, list) else str(v)

    return " ".join(f"{k}={value(v)}" for k, v in params.items() if k != "kind" and v not in (None, [], ""))


def parties(loaded: LoadedAgreement, ds: Dataset) -> Section:
    agreement = loaded.agreement
    outputs = agreement.outputs_for(ds.id)
    rows: list[tuple[Cell, ...]] = []
    for p in agreement.parties:
        here = []
        if p.id == ds.provider:
            here.append("provider of this dataset")
        received = [o.id for o in outputs if o.recipient == p.id]
        if received:
            here.append("recipient of " + ", ".join(received))
        contacts = "; ".join(f"{c.name}{f' ({c.role})' if c.role else ''} <{c.email}>" for c in p.contacts) or "-"
        rows.append((Code(p.id), p.name, p.role, p.jurisdiction, "; ".join(here) or "-", contacts))
    return Section("parties", "Parties and roles", (
        table(["party", "name", "role", "jurisdiction", "in this dataset", "contacts"], rows),))


def purposes(loaded: LoadedAgreement, ds: Dataset) -> Section:
    agreement = loaded.agreement
    outputs = agreement.outputs_for(ds.id)
    purpose_rows: list[tuple[Cell, ...]] = [
        (Code(p.id), p.description, ", ".join(p.permitted_model_types),
         ", ".join(o.id for o in outputs if o.purpose == p.id) or "-") for p in agreement.purposes]
    output_rows: list[tuple[Cell, ...]] = []
    for o in outputs:
        synth = o.synthesizer.model_dump(mode="json", exclude_none=True) if o.synthesizer else {}
        model = f"{synth.pop('model', '')} {params_text(synth)}".strip() if synth else "-"
        output_rows.append((Code(o.id), o.kind, o.zone, Code(o.recipient), Code(o.purpose),
                            "required" if o.approval_required else "not required", Code(model) if synth else "-"))
    return Section("purposes", "Purposes and outputs", (
        table(["purpose", "description", "permitted model types", "served by outputs of this dataset"],
              purpose_rows),
        table(["output", "kind", "zone", "recipient", "purpose", "steward approval", "synthesizer"], output_rows)
        if output_rows else para("This dataset has no output: nothing of it is released."),
    ))


def categories(loaded: LoadedAgreement, ds: Dataset, plan: DatasetPlan) -> Section:
    rows: list[tuple[Cell, ...]] = []
    counts: dict[str, int] = {}
    special = []
    for c in plan.columns:
        col = ds.columns[c.name]
        counts[col.category] = counts.get(col.category, 0) + 1
        if col.legal_basis.startswith(SPECIAL_CATEGORY_PREFIX):
            special.append(c.name)
        rows.append((Code(c.name), Code(c.partner_name), col.type, col.category, col.legal_basis,
                     col.pii_entity or "-", col.description or "-"))
    summary = "; ".join(f"{n} {category.replace('_', ' ')}" for category, n in sorted(counts.items()))
    blocks = [para(f"{len(rows)} declared columns: {summary}. Any other column the provider sends is dropped at "
                   "schema mapping (data minimisation); the ledger counts them.")]
    if special:
        blocks.append(para("Special-category data (GDPR Art. 9 legal bases) in ", len(special), " column(s): ",
                           Code(", ".join(special)), "."))
    blocks.append(table(["column", "provider's column", "type", "category", "legal basis", "PII entity",
                         "description"], rows))
    return Section("categories", "Data categories and legal bases", tuple(blocks))


def transfers(loaded: LoadedAgreement, ds: Dataset) -> Section:
    agreement = loaded.agreement
    declared: list[tuple[Cell, ...]] = [(t.from_, t.to, Code(t.mechanism), t.reference or "-")
                                        for t in agreement.transfers]
    source = agreement.party(ds.provider).jurisdiction
    flows: list[tuple[Cell, ...]] = []
    for o in agreement.outputs_for(ds.id):
        target = agreement.party(o.recipient).jurisdiction
        if source == target:
            basis: Cell = "same jurisdiction: no transfer"
            ok: bool | None = True
        else:
            match = next((t for t in agreement.transfers if t.from_ == source and t.to == target), None)
            ok = match is not None
            basis = Code(match.mechanism) if match else "no declared mechanism: publish refuses this output"
        flows.append((Code(o.id), source, target, basis, Verdict(ok)))
    return Section("transfers", "Transfers and their mechanisms", (
        table(["from", "to", "mechanism", "reference"], declared) if declared
        else para("The agreement declares no transfer between jurisdictions."),
        heading("Flows of this dataset's outputs"),
        table(["output", "from", "to", "covered by", "lawful"], flows) if flows else para("No output, no flow."),
    ))


def transformations(loaded: LoadedAgreement, ds: Dataset, plan: DatasetPlan) -> Section:
    """Every column as the plan transforms it, the generalisation levels suppression may climb, and the steps."""
    levels = {name: [lvl.model_dump(mode="json") for lvl in getattr(col, "hierarchy", None) or []]
              for name, col in ds.columns.items()}
    with_levels = any(levels.values())
    rows: list[tuple[Cell, ...]] = []
    for c in plan.columns:
        row: list[Cell] = [Code(c.name), c.category, Code(c.transformation["kind"]),
                           Code(params_text(c.transformation)) if params_text(c.transformation) else "-"]
        if with_levels:
            row.append(Code(" -> ".join(f"{lv.get('method')} {params_text({k: v for k, v in lv.items() if k != 'method'})}".strip()
                                        for lv in levels[c.name])) if levels[c.name] else "-")
        rows.append(tuple(row))
    headers = ["column", "category", "transformation", "parameters"] + (["generalisation levels"] if with_levels else [])
    steps = " -> ".join(s.task_id for s in plan.steps)
    blocks = [para("Every column is released only as transformed here (undeclared columns never are). Steps of "
                   "this dataset, in order: ", Code(steps), "."),
              table(headers, rows)]
    restrictions = loaded.agreement.restrictions
    if restrictions:
        blocks += [heading("Restrictions"), table(
            ["restriction", "description", "forbidden transformations", "on categories"],
            [(Code(r.id), r.description, ", ".join(r.forbidden_transformations) or "-", ", ".join(r.categories) or "-")
             for r in restrictions])]
    return Section("transformations", "Transformation of every column", tuple(blocks))


def retention(loaded: LoadedAgreement, ds: Dataset) -> Section:
    agreement = loaded.agreement
    kept = agreement.retention.model_dump(mode="json")
    zones = sorted({o.zone for o in agreement.outputs_for(ds.id)})
    grants: list[tuple[Cell, ...]] = [(Code(g.principal), g.zone, ", ".join(g.permissions), g.valid_until.isoformat())
                                      for g in agreement.access]
    return Section("retention", "Retention and access", (
        para(f"The agreement is in force from {agreement.metadata.effective} to {agreement.metadata.expires}. "
             "Versions past their retention are crypto-shredded (their data key destroyed) and a signed deletion "
             "receipt goes to the ledger."
             + (" Releases of this dataset land in " + ", ".join(
                 f"{z} (kept {agreement.retention.days_for(z)} days)" for z in zones) + "." if zones else "")),
        table(["retention rule", "days"], [(Code(k), str(v)) for k, v in kept.items()]),
        heading("Access grants"),
        table(["principal", "zone", "permissions", "valid until"], grants) if grants
        else para("The agreement grants no access to any zone."),
    ))


__all__ = ["categories", "params_text", "parties", "purposes", "retention", "transfers", "transformations"]
