"""SDV metadata from the agreement, never from SDV's detection.

SDV's own detection labels a full-name or phone column a high-cardinality categorical, and a
categorical is learned: the synthesizer then copies real names and phones into its output.
Here every column's role comes from its declaration:

    dropped      transformation `drop`: never reaches the model
    excluded     declared `text` (free text would be copied verbatim as a category; it is left
                 out of the model and of the synthetic output), or not declared at all
    faked        direct identifier with a Faker mapping for its pii_entity: an SDV PII sdtype
                 (pii=True), values are drawn from Faker in the agreement's locale, never learned
    regenerated  direct identifier without a Faker mapping, a pseudonymised or encrypted token,
                 or a column the agreement's quality rules declare `unique`: an SDV `id` with a
                 regex, so values are generated afresh (an SDV `id` *without* a regex is learned
                 as a categorical in SDV 2.0, which would copy it)
    modelled     everything else, with the sdtype its data type calls for (numerical, datetime,
                 boolean, categorical); allowed_values rules make a column categorical

The sdtype follows the table's Arrow type, not only the declared type, because the caller may
train on the protected table, where e.g. a generalised date is already text ("1961").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import pyarrow as pa
from sdv.metadata import Metadata

from pactline.agreement.model import Column, Dataset, QualityRule

Role = Literal["dropped", "excluded", "faked", "regenerated", "modelled"]

# Presidio entity -> SDV PII sdtype (an SDV anonymizer or a Faker function name).
PII_SDTYPES: dict[str, str] = {
    "PERSON": "name",
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone_number",
    "US_SSN": "ssn",
    "CREDIT_CARD": "credit_card_number",
    "IBAN_CODE": "iban",
    "IP_ADDRESS": "ipv4_address",
    "URL": "url",
    "US_PASSPORT": "passport_number",
    "US_BANK_NUMBER": "bban",
    "LOCATION": "address",
}
# sdtype -> (Faker provider, Faker function): the functions the faked values come from.
FAKER_FUNCTIONS: dict[str, tuple[str, str]] = {
    "name": ("person", "name"),
    "email": ("internet", "email"),
    "phone_number": ("phone_number", "phone_number"),
    "ssn": ("ssn", "ssn"),
    "credit_card_number": ("credit_card", "credit_card_number"),
    "iban": ("bank", "iban"),
    "ipv4_address": ("internet", "ipv4"),
    "url": ("internet", "url"),
    "passport_number": ("passport", "passport_number"),
    "bban": ("bank", "bban"),
    "address": ("address", "address"),
}
# Regenerated ids say what they are; a real value never has this shape.
TEXT_ID_REGEX = "syn-[0-9a-f]{12}"
INT_ID_REGEX = "[1-9][0-9]{11}"
TOKEN_TRANSFORMATIONS = {"pseudonymise", "encrypt"}


@dataclass(frozen=True)
class ColumnSpec:
    """How one column reaches (or does not reach) the synthesizer, and why."""

    name: str
    role: Role
    sdtype: str | None  # SDV sdtype; None when the column never reaches the model
    reason: str
    category: str | None = None  # the agreement's category; None for undeclared columns

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Bounds:
    """A range rule: synthetic values outside [min, max] are rejected and resampled."""

    column: str
    min: float | None
    max: float | None


@dataclass(frozen=True)
class Allowed:
    """An allowed_values rule: synthetic rows with another value are rejected and resampled."""

    column: str
    values: tuple[Any, ...]


Rule = Bounds | Allowed


def rules_for(rules: Iterable[QualityRule], dataset_id: str) -> list[QualityRule]:
    """The agreement's quality rules that name this dataset (Agreement.quality_rules is agreement-wide)."""
    return [r for r in rules if r.dataset == dataset_id]


def _is_numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def _value_type(t: pa.DataType) -> pa.DataType:
    return t.value_type if pa.types.is_dictionary(t) else t


def _modelled_sdtype(t: pa.DataType) -> str:
    t = _value_type(t)
    if pa.types.is_boolean(t):
        return "boolean"
    if _is_numeric(t):
        return "numerical"
    if pa.types.is_date(t) or pa.types.is_timestamp(t):
        return "datetime"
    return "categorical"


def _spec(name: str, col: Column, arrow_type: pa.DataType, unique: set[str], allowed: set[str]) -> ColumnSpec:
    kind = col.transformation.kind
    cat = col.category
    if kind == "drop":
        return ColumnSpec(name, "dropped", None, "transformation drop: never reaches the model", cat)
    if col.type == "text":
        return ColumnSpec(name, "excluded", None,
                          "free text is not modelled (a category would copy it verbatim); left out of the output", cat)
    if cat == "direct_identifier":
        sdtype = PII_SDTYPES.get(col.pii_entity or "")
        if sdtype is not None and not _is_numeric(_value_type(arrow_type)):
            return ColumnSpec(name, "faked", sdtype,
                              f"direct identifier ({col.pii_entity}): faked with Faker, never learned", cat)
        return ColumnSpec(name, "regenerated", "id",
                          f"direct identifier ({col.pii_entity or 'no pii_entity'}) without a Faker mapping: "
                          "regenerated unique id, never learned", cat)
    if kind in TOKEN_TRANSFORMATIONS:
        return ColumnSpec(name, "regenerated", "id", f"{kind} token: regenerated unique id, never learned", cat)
    if name in unique:
        return ColumnSpec(name, "regenerated", "id", "quality rule unique (a row id): regenerated, never learned", cat)
    if name in allowed:
        return ColumnSpec(name, "modelled", "categorical", "allowed_values rule: modelled as categories", cat)
    return ColumnSpec(name, "modelled", _modelled_sdtype(arrow_type), f"{cat}: modelled", cat)


def plan_columns(dataset: Dataset, schema: pa.Schema, rules: Sequence[QualityRule] = ()) -> list[ColumnSpec]:
    """Every column of the table (in table order) with its role; undeclared columns are excluded."""
    mine = rules_for(rules, dataset.id)
    unique = {r.column for r in mine if r.rule == "unique" and r.column}
    allowed = {r.column for r in mine if r.rule == "allowed_values" and r.column}
    out = []
    for field in schema:
        col = dataset.columns.get(field.name)
        if col is None:
            out.append(ColumnSpec(field.name, "excluded", None,
                                  "not declared by the agreement: never reaches the model"))
        else:
            out.append(_spec(field.name, col, field.type, unique, allowed))
    return out


def sample_rules(specs: Sequence[ColumnSpec], rules: Sequence[QualityRule], dataset_id: str) -> list[Rule]:
    """Range and allowed_values rules on modelled columns, enforced on the synthetic rows."""
    roles = {s.name: s for s in specs}
    out: list[Rule] = []
    for r in rules_for(rules, dataset_id):
        spec = roles.get(r.column or "")
        if spec is None or spec.role != "modelled":
            continue
        if r.rule == "range" and spec.sdtype == "numerical":
            out.append(Bounds(spec.name, r.min, r.max))
        elif r.rule == "allowed_values" and r.values is not None:
            out.append(Allowed(spec.name, tuple(r.values)))
    return out


def metadata_from_specs(specs: Sequence[ColumnSpec], table_name: str, schema: pa.Schema,
                        roles: Iterable[Role] = ("faked", "regenerated", "modelled")) -> Metadata:
    keep = set(roles)
    md = Metadata()
    md.add_table(table_name)
    for spec in specs:
        if spec.role not in keep or spec.sdtype is None:
            continue
        kwargs: dict[str, Any] = {}
        if spec.role == "faked":
            kwargs["pii"] = True
        elif spec.role == "regenerated":
            numeric = _is_numeric(_value_type(schema.field(spec.name).type))
            kwargs["regex_format"] = INT_ID_REGEX if numeric else TEXT_ID_REGEX
        md.add_column(spec.name, table_name=table_name, sdtype=spec.sdtype, **kwargs)
    return md


def build_metadata(dataset: Dataset, table: pa.Table | pa.Schema, rules: Sequence[QualityRule] = ()) -> Metadata:
    """Single-table SDV Metadata for the columns that reach the synthesizer, from the agreement.

    `rules` are the agreement's quality rules (Agreement.quality_rules; those naming other
    datasets are ignored): `unique` makes a column a regenerated id, `allowed_values` a category.
    """
    schema = table.schema if isinstance(table, pa.Table) else table
    return metadata_from_specs(plan_columns(dataset, schema, rules), dataset.id, schema)
