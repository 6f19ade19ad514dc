"""What a scan found, per column, as data (to_dict for JSON) and as readable text.

Examples are always masked to their shape: letters become x/X and digits 9, and free text is
shown after redaction with every word masked too (the PII spans as placeholders, e.g. "Xxxxx xxxx
<PERSON> xx <PHONE_NUMBER>"), so a report can be shared with a steward without leaking the values
it describes: not the matched text, and not the words around it either.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import regex

_LOWER = regex.compile(r"\p{Ll}")
_UPPER = regex.compile(r"\p{Lu}|\p{Lt}|\p{Lo}|\p{Lm}")
_MARK = regex.compile(r"\p{M}")  # combining marks (vowel signs, accents) carry content too
_DIGIT = regex.compile(r"\p{N}")
_PLACEHOLDER = regex.compile(r"<[A-Z_]+>")


def mask_value(value: str, limit: int = 40) -> str:
    """Keep the shape of a value (length, case, separators), never its content."""
    masked = _DIGIT.sub("9", _UPPER.sub("X", _LOWER.sub("x", _MARK.sub("x", value))))
    return masked if len(masked) <= limit else masked[:limit] + "…"


def mask_free_text(redacted: str, limit: int = 80) -> str:
    """Redacted text as its shape: the placeholders the redaction left stay readable, every other
    letter and digit is masked (a name the recognizers missed, or a diagnosis in an ordinary word,
    reaches no report)."""
    out, last = [], 0
    for m in _PLACEHOLDER.finditer(redacted):
        out.append(mask_value(redacted[last:m.start()], 100_000))
        out.append(m.group())
        last = m.end()
    out.append(mask_value(redacted[last:], 100_000))
    text = "".join(out).replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "…"


# Verdict categories (the agreement's column categories): direct_identifier, quasi_identifier, sensitive
# (GDPR art. 9 special categories); None: nothing a privacy officer must flag in the values themselves.
PERSONAL_CATEGORIES = ("direct_identifier", "quasi_identifier", "sensitive")


@dataclass
class ColumnReport:
    """One column's verdict with its evidence (the fields `pactline draft` and the pages read).

    - entity: the PII entity (Presidio names plus Pactline's: NL_BSN, DE_TAX_ID, FR_NIR, UK_NINO,
      ES_NIF, US_SSN, UUID, MAC_ADDRESS, IMEI, VIN, COORDINATE, ZIP_CODE, USERNAME, PASSWORD, SECRET,
      CARD_SECURITY_CODE, CARD_EXPIRY, BANK_ACCOUNT, TRACKING_NUMBER, LICENSE_PLATE, DEVICE_ID, AGE,
      GENDER, BLOOD_TYPE, ICD10_CODE, MEDICATION, HEALTH, ETHNICITY, RELIGION, SEXUAL_ORIENTATION,
      BIOMETRIC, TRADE_UNION, POLITICAL_OPINION, ...), None when the values hold none;
    - category: the suggested agreement category (see PERSONAL_CATEGORIES), None: not personal;
    - sensitive: a GDPR art. 9 special category (health, ethnicity, religion, ...);
    - identifier_candidate: near-unique, high-entropy values (or a name that is a person's record key);
    - uniqueness: distinct / non-null values in the sample;
    - evidence: {"rule", "name" (the dictionary match or None), "value_entity", "value_share",
      "uniqueness", "confidence"}: why the verdict is what it is (classify.py documents the rule).
    """

    name: str
    dtype: str
    entity: str | None  # Presidio entity name, None when the column holds no PII entity
    confidence: float  # 0..1, how sure the verdict is (for None: that no entity is there)
    share: float  # share of sampled non-null values matching `entity` (best candidate if None)
    is_free_text: bool
    sampled: int  # non-null values in the sample
    distinct: int  # distinct non-null values in the sample
    entity_counts: dict[str, int] = field(default_factory=dict)  # spans found (free text)
    examples: list[str] = field(default_factory=list)  # masked
    name_hint: str | None = None  # entity the column name suggests, evidence or not
    reason: str = ""
    category: str | None = None
    sensitive: bool = False
    identifier_candidate: bool = False
    uniqueness: float | None = None
    evidence: dict = field(default_factory=dict)

    @property
    def has_pii(self) -> bool:
        return self.entity is not None or bool(self.entity_counts)

    @property
    def flagged(self) -> bool:
        """What a privacy officer must look at: a personal category, or PII spans in free text."""
        return self.category in PERSONAL_CATEGORIES or self.identifier_candidate or bool(self.entity_counts)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["has_pii"] = self.has_pii
        d["flagged"] = self.flagged
        return d


def evidence_text(ev: dict) -> str:
    """One line of a verdict's evidence: the rule, the name match, the value share."""
    if not ev:
        return ""
    parts = [str(ev.get("rule", ""))]
    name = ev.get("name")
    if name:
        parts.append(f"name~{name.get('pattern')}->{name.get('entity') or name.get('category') or 'not personal'}")
    if ev.get("value_entity"):
        parts.append(f"values {ev['value_entity']} {ev.get('value_share', 0):.0%}")
    return "; ".join(p for p in parts if p)


@dataclass
class ScanReport:
    rows: int
    sample_size: int
    model: str
    seconds: float
    columns: list[ColumnReport]
    source: str | None = None
    min_share: float = 0.5
    # smallest column combinations making most rows unique: {"columns", "unique_rows", "rows", "share"}
    quasi_identifiers: list[dict] = field(default_factory=list)

    def column(self, name: str) -> ColumnReport:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def entities(self) -> dict[str, str | None]:
        return {c.name: c.entity for c in self.columns}

    @property
    def pii_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.has_pii]

    @property
    def flagged_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.flagged]

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "rows": self.rows,
            "sample_size": self.sample_size,
            "min_share": self.min_share,
            "model": self.model,
            "seconds": round(self.seconds, 3),
            "columns": [c.to_dict() for c in self.columns],
            "quasi_identifiers": self.quasi_identifiers,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def render(self) -> str:
        head = (f"{self.source or 'table'}: {self.rows} rows, sample {min(self.rows, self.sample_size)}, "
                f"model {self.model}, {self.seconds:.2f}s")
        rows = [("column", "type", "entity", "category", "conf", "share", "unique", "evidence", "found in free text",
                 "example (masked)")]
        for c in self.columns:
            entity = c.entity or ("free text" if c.is_free_text else "-")
            spans = ", ".join(f"{k} {v}" for k, v in sorted(c.entity_counts.items(), key=lambda kv: -kv[1]))
            category = (c.category or "-") + (" (art. 9)" if c.sensitive else "") + \
                (" +identifier" if c.identifier_candidate else "")
            unique = "-" if c.uniqueness is None else f"{c.uniqueness:.2f}"
            rows.append((c.name, c.dtype, entity, category, f"{c.confidence:.2f}", f"{c.share:.2f}", unique,
                         evidence_text(c.evidence), spans or "", c.examples[0] if c.examples else ""))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
        lines = [head]
        for r in rows:
            lines.append("  ".join(v.ljust(w) for v, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1])
        if self.quasi_identifiers:
            lines.append("quasi-identifier combinations (share of rows they make unique):")
            lines += [f"  {' + '.join(q['columns'])}: {q['unique_rows']}/{q['rows']} rows ({q['share']:.0%})"
                      for q in self.quasi_identifiers]
        return "\n".join(line.rstrip() for line in lines)

    __str__ = render
