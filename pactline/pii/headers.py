"""Column-name evidence: which entity and category a header names, from a curated dictionary.

The dictionary ships as headers.yaml beside this module (English, German, Dutch, French and
Spanish headers, abbreviations, case styles); its comments say how names match. A deployment
extends it without code: a YAML list of the same shape named by $PACTLINE_PII_HEADERS, or
$PACTLINE_HOME/pii_headers.yaml; those entries are matched first, so they can also override.
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

from pactline.errors import PactlineError

HEADERS_ENV = "PACTLINE_PII_HEADERS"
# Abbreviated words in headers (CUST_NM, ZIP_CD, BIRTH_DT, natl_id): matched as written and spelled out.
ALIASES = {"nm": "name", "nme": "name", "nbr": "number", "num": "number", "no": "number", "nr": "number",
           "dt": "date", "cd": "code", "natl": "national", "addr": "address", "st": "street", "ph": "phone",
           "mob": "mobile", "cust": "customer", "acc": "account", "emp": "employee", "pt": "patient"}
CATEGORIES = {"direct_identifier", "quasi_identifier", "sensitive", None}
STRENGTHS = {"strong", "weak"}


class HeaderDictionaryError(PactlineError):
    """A column-name dictionary file is malformed."""


@dataclass(frozen=True)
class HeaderMatch:
    """What a column's name says: the dictionary entry it matched and how."""

    entity: str | None  # None: the name is a record key of a person (category set) or not personal
    category: str | None  # direct_identifier, quasi_identifier, sensitive; None: not personal
    strength: str  # strong: flags unless the values contradict; weak: only relaxes the share needed
    pattern: str  # the dictionary name that matched
    words: str  # the header words it matched

    def to_dict(self) -> dict:
        return {"entity": self.entity, "category": self.category, "strength": self.strength,
                "pattern": self.pattern, "words": self.words}


@dataclass(frozen=True)
class _Entry:
    entity: str | None
    category: str | None
    strength: str
    name: str  # folded, without the wildcard
    prefix: bool  # `name*`
    suffix: bool  # `*name`
    rank: int  # order in the files (earlier wins a tie)


def fold(text: str) -> str:
    """Lower-case ASCII letters and digits only: straße -> strasse, prénom -> prenom."""
    text = text.replace("ß", "ss").replace("ẞ", "ss")
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if ch.isascii() and ch.isalnum()).lower()


def header_words(column: str) -> list[str]:
    """`customerFirstName` / `CUSTOMER_FIRST_NAME` / `customer-first name` -> [customer, first, name]."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", column)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", spaced)
    return [w for w in (fold(p) for p in re.split(r"[^0-9A-Za-zÀ-ÿß]+", spaced)) if w]


def _entries(raw: object, where: str, start: int) -> list[_Entry]:
    if not isinstance(raw, list):
        raise HeaderDictionaryError(f"{where}: expected a list of entries with entity, category, strength, names")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("names"), list):
            raise HeaderDictionaryError(f"{where}: entry {i} needs a list `names`")
        category, strength = item.get("category"), item.get("strength", "strong")
        if category not in CATEGORIES or strength not in STRENGTHS:
            raise HeaderDictionaryError(f"{where}: entry {i}: category must be one of "
                                        f"direct_identifier, quasi_identifier, sensitive or null and strength "
                                        f"strong or weak")
        entity = item.get("entity")
        if entity is not None and not re.fullmatch(r"[A-Z][A-Z0-9_]*", str(entity)):
            raise HeaderDictionaryError(f"{where}: entry {i}: entity must be an UPPER_CASE name or null")
        for name in item["names"]:
            text = str(name)
            folded = fold(text)
            if not folded:
                raise HeaderDictionaryError(f"{where}: entry {i}: empty name {name!r}")
            out.append(_Entry(entity, category, strength, folded, text.endswith("*"), text.startswith("*"),
                              start + len(out)))
    return out


def _extension_path() -> Path | None:
    named = os.environ.get(HEADERS_ENV)
    if named:
        path = Path(named)
        if not path.is_file():
            raise HeaderDictionaryError(f"{HEADERS_ENV} names {named}, which is not a file")
        return path
    home = os.environ.get("PACTLINE_HOME")
    candidate = Path(home) / "pii_headers.yaml" if home else None
    return candidate if candidate and candidate.is_file() else None


@functools.cache
def _load(extension: str | None) -> tuple[_Entry, ...]:
    entries: list[_Entry] = []
    if extension:
        try:
            raw = yaml.safe_load(Path(extension).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise HeaderDictionaryError(f"{extension}: cannot read the column-name dictionary ({exc})") from exc
        entries += _entries(raw or [], extension, 0)
    shipped = Path(__file__).with_name("headers.yaml")
    entries += _entries(yaml.safe_load(shipped.read_text(encoding="utf-8")), str(shipped), len(entries))
    return tuple(entries)


def dictionary() -> tuple[_Entry, ...]:
    path = _extension_path()
    return _load(str(path) if path else None)


def match_header(column: str) -> HeaderMatch | None:
    """The longest dictionary name matching a run of the header's words (earlier entries win ties)."""
    words = header_words(column)
    if not words:
        return None
    runs: dict[str, str] = {}
    for spelled in (words, [ALIASES.get(w, w) for w in words]):
        for i in range(len(spelled)):
            for j in range(i + 1, min(len(spelled), i + 6) + 1):
                runs.setdefault("".join(spelled[i:j]), " ".join(words[i:j]))
    best: tuple[int, int, _Entry, str] | None = None
    for entry in dictionary():
        for run, spelled in runs.items():
            if entry.prefix and entry.suffix:
                ok = entry.name in run
            elif entry.prefix:
                ok = run.startswith(entry.name)
            elif entry.suffix:
                ok = run.endswith(entry.name)
            else:
                ok = run == entry.name
            if ok:
                key = (len(run) if (entry.prefix or entry.suffix) else len(entry.name) + 1, -entry.rank)
                if best is None or key > best[:2]:
                    best = (*key, entry, spelled)
    if best is None:
        return None
    entry, spelled = best[2], best[3]
    pattern = ("*" if entry.suffix else "") + entry.name + ("*" if entry.prefix else "")
    return HeaderMatch(entry.entity, entry.category, entry.strength, pattern, spelled)
