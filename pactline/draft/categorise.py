"""Each column's draft category, type and transformation, from the PII scan's verdict and the column's profile.

The scan (pactline.pii.classify_table) says which entity a column holds and whether it is a direct identifier,
a quasi-identifier or sensitive; the draft adds what the scan does not decide: protected-attribute and label
candidates, free text, record keys, and the agreement type. Every verdict comes with the reason, in names, counts
and shapes only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from pactline.draft.profile import Profile

# draft categories (what a reviewer decides) -> the agreement's category
DIRECT, QUASI, SENSITIVE, PROTECTED, LABEL, NON_PERSONAL, FREE_TEXT = (
    "direct_identifier", "quasi_identifier", "sensitive", "protected_attribute", "label", "non_personal", "free_text")
AGREEMENT_CATEGORY = {FREE_TEXT: NON_PERSONAL}

# entities of the groups a bias check protects (GDPR art. 9 and equality law); AGE is a quasi-identifier first
PROTECTED_ENTITIES = frozenset({"GENDER", "ETHNICITY", "NRP", "RELIGION", "SEXUAL_ORIENTATION",
                                "POLITICAL_OPINION", "TRADE_UNION", "DISABILITY"})
# identifiers other datasets share: a keyed pseudonym keeps them joinable (normalised as the agreements do)
JOIN_KEYS = {"EMAIL_ADDRESS": ["strip", "lower"], "PHONE_NUMBER": ["digits_only"]}
REDACTED = frozenset({"IBAN_CODE", "BANK_ACCOUNT", "IP_ADDRESS", "US_SSN", "PASSWORD", "SECRET", "MAC_ADDRESS",
                      "IMEI", "DEVICE_ID", "CARD_SECURITY_CODE", "CARD_EXPIRY", "USERNAME", "URL"})
TEXT_ENTITIES = frozenset({"ZIP_CODE", "PHONE_NUMBER", "CREDIT_CARD", "INSURANCE_ID", "US_SSN", "NL_BSN"})
FREE_TEXT_WORDS = 3.0  # mean words per value from which a string column reads as free text
CATEGORICAL = 20  # at most this many distinct values (and few per row) make a string column categorical
RARE = 5  # fewer rows than this in a category make it identifying (generalise rare_to_other, no allowed values)


@dataclass
class Verdict:
    draft_category: str
    category: str
    type: str
    transformation: dict[str, Any]
    pii_entity: str | None
    legal_basis: str
    why: list[str]


def _field(report: Any, name: str, default: Any = None) -> Any:
    return getattr(report, name, default)  # the scan's report grows fields; read the ones the draft knows


def agreement_type(prof: Profile, column: pa.ChunkedArray, entity: str | None, free_text: bool) -> str:
    t = column.type
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_date(t):
        return "date"
    if entity in TEXT_ENTITIES:
        return "string"  # a postcode or number read as an integer still is text (leading zeros)
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t):
        whole = prof.numeric and all(float(v).is_integer() for v in column.drop_null().to_pylist()[:5000])
        return "integer" if whole and entity == "AGE" else "float"
    if free_text:
        return "text"
    if prof.distinct and prof.distinct <= CATEGORICAL and prof.distinct <= 0.2 * prof.non_null:
        return "categorical"
    return "string"


def categorise(prof: Profile, column: pa.ChunkedArray, report: Any) -> Verdict:
    entity = _field(report, "entity")
    scan_category = _field(report, "category")
    sensitive = bool(_field(report, "sensitive", False))
    sampled = _field(report, "sampled", 0) or 0
    share = _field(report, "share", 0.0) or 0.0
    found = (f"the scan found {entity} in {share:.0%} of {sampled} sampled values" if share >= 0.05
             else f"the scan named it {entity} (column name and values)") if entity else ""
    two_valued = prof.distinct == 2 and (pa.types.is_boolean(column.type) or prof.distinct == 2 == len(prof.top))
    free = bool(_field(report, "is_free_text", False)) or bool(_field(report, "entity_counts")) or (
        prof.words >= FREE_TEXT_WORDS and prof.distinct >= 0.2 * max(prof.non_null, 1) and not entity)
    typ = agreement_type(prof, column, entity, free)
    why: list[str] = []
    transformation: dict[str, Any] = {"kind": "keep"}
    if free:
        draft = FREE_TEXT
        category = SENSITIVE if sensitive else NON_PERSONAL
        transformation = {"kind": "redact_text"}
        why.append(f"free text ({prof.words:.1f} words per value on average, {prof.distinct} distinct of "
                   f"{prof.non_null}); every PII span found in it is redacted")
    elif scan_category == DIRECT:
        draft = category = DIRECT
        why.append(f"direct identifier: {found or 'near-unique values'}")
        if entity == "PERSON":
            transformation = {"kind": "drop"}
            why.append("names are not needed to train a model: dropped")
        elif entity == "CREDIT_CARD":
            transformation = {"kind": "mask", "mode": "keep_last", "n": 4}
            why.append("masked to the last 4 digits")
        elif entity in REDACTED:
            transformation = {"kind": "redact"}
            why.append("no join needs it: redacted")
        else:
            transformation = {"kind": "pseudonymise", "normalise": JOIN_KEYS.get(entity, ["alnum_only", "upper"])}
            why.append("pseudonymised with the agreement's key, so datasets still join on it")
    elif entity in PROTECTED_ENTITIES:
        draft = category = PROTECTED
        why.append(f"protected attribute candidate: {found}; kept for the bias checks")
    elif sensitive or scan_category == SENSITIVE:
        draft = category = SENSITIVE
        why.append(f"special category (GDPR art. 9): {found or 'the scan marked it sensitive'}")
        if typ in ("categorical", "string") and prof.top and min(n for _, n in prof.top) < RARE:
            transformation = {"kind": "generalise", "method": "rare_to_other", "min_count": RARE}
            why.append(f"some of its {prof.distinct} categories have fewer than {RARE} rows: rare ones become other")
    elif scan_category == QUASI or entity in ("DATE_TIME", "AGE", "ZIP_CODE", "LOCATION"):
        draft = category = QUASI
        why.append(f"quasi-identifier: {found}")
        if entity == "AGE" and typ in ("integer", "float"):
            transformation = {"kind": "generalise", "method": "bands", "width": 10}
            why.append("generalised to 10-year bands")
        elif entity == "ZIP_CODE":
            transformation = {"kind": "generalise", "method": "truncate", "keep": 2}
            why.append("generalised to its first 2 characters")
        elif typ in ("date", "timestamp"):
            transformation = {"kind": "generalise", "method": "date", "granularity": "month"}
            why.append("generalised to the month")
    elif two_valued:
        draft, category = LABEL, LABEL
        why.append(f"label candidate: two values over {prof.non_null} rows, what a model would predict; "
                   "keep one label per purpose")
    else:
        draft = category = NON_PERSONAL
        if prof.distinct == prof.non_null and prof.non_null:
            why.append(f"non-personal record key ({prof.distinct} distinct values, one per row); pseudonymise it if "
                       "it also identifies a person elsewhere")
        else:
            why.append(f"non-personal: the scan found no PII ({prof.distinct} distinct of {prof.non_null} values)")
    personal = category in (DIRECT, QUASI, SENSITIVE, PROTECTED)
    legal_basis = ("art9_explicit_consent" if category == SENSITIVE else "legitimate_interests") if personal \
        else "not_applicable"
    if personal:
        why.append(f"legal_basis {legal_basis} is a placeholder the parties decide")
    pii_entity = entity if personal and entity else None
    return Verdict(draft, category, typ, transformation, pii_entity, legal_basis, why)
