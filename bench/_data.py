"""Seeded generator of the 12-column benchmark table (shared by bench/scan_speed.py and
bench/text_throughput.py).

Faker is slow per call, so values are drawn from Faker-made pools with a numpy RNG; the notes
column combines templates and pool values, so notes stay mostly distinct. Every PII value put
into a note is recorded as an InjectedSpan, which is the ground truth for recall.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from faker import Faker

# What each column holds; the benchmarks compare classifications against this.
EXPECTED = {
    "id": None,
    "full_name": "PERSON",
    "email": "EMAIL_ADDRESS",
    "phone": "PHONE_NUMBER",
    "birth_date": "DATE_TIME",
    "postcode": "ZIP_CODE",  # a quasi-identifier the scan flags by its name (issue 18)
    "income": None,
    "card_number": "CREDIT_CARD",
    "iban": "IBAN_CODE",
    "notes": "free text",
    "category": None,
    "is_active": None,
}

CATEGORIES = ["electronics", "books", "garden", "toys", "grocery", "sports", "clothing", "beauty",
              "automotive", "music", "furniture", "pet supplies"]

_PLAIN = [
    "customer asked about delivery times for the next order",
    "refund processed, no further action needed",
    "package arrived damaged and a replacement was sent",
    "requested an invoice copy for the accounting team",
    "wants to upgrade to the premium plan next month",
    "complained that the app is slow on older phones",
    "left a positive review after the support call",
    "asked to close the account at the end of the year",
    "payment failed twice because the bank declined it",
    "prefers contact by letter rather than by phone",
    "order was split into two shipments by the warehouse",
    "returned the item because the size was wrong",
]
_FILLERS = ["today", "this morning", "again", "as agreed", "after a long wait", "without issues",
            "per policy", "for the second time", "before the deadline", "on request"]
# PII templates: {slot} names the pool; the injected entity type is the slot's entity.
_PII = [
    ("spoke to {name} who asked for a callback on {phone}", ("name", "phone")),
    ("card {card} was declined at checkout", ("card",)),
    ("send the invoice to {email} {filler}", ("email",)),
    ("{name} moved to {city} and wants the address updated", ("name", "city")),
    ("IBAN {iban} confirmed by the bank {filler}", ("iban",)),
    ("please call {phone} and ask for {name}", ("phone", "name")),
    ("customer {name} disputes the charge on card {card}", ("name", "card")),
    ("new email address is {email}, phone {phone}", ("email", "phone")),
]
SLOT_ENTITY = {"name": "PERSON", "phone": "PHONE_NUMBER", "card": "CREDIT_CARD", "email": "EMAIL_ADDRESS",
               "city": "LOCATION", "iban": "IBAN_CODE"}


@dataclass(frozen=True)
class InjectedSpan:
    row: int
    start: int
    end: int
    entity: str
    value: str


def _pools(seed: int, size: int) -> dict[str, list[str]]:
    us, gb = Faker("en_US"), Faker("en_GB")
    us.seed_instance(seed)
    gb.seed_instance(seed + 1)
    phones = [us.phone_number() for _ in range(size // 2)] + [gb.phone_number() for _ in range(size // 2)]
    postcodes = [us.postcode() for _ in range(size)]
    # make sure a tenth have leading zeros, as New England zips do
    postcodes = [("0" + p[1:]) if i % 10 == 0 else p for i, p in enumerate(postcodes)]
    return {
        "name": [us.name() for _ in range(size)],
        "email": [us.email() for _ in range(size)],
        "phone": phones,
        "card": [us.credit_card_number() for _ in range(size)],
        "iban": [gb.iban() for _ in range(size)],
        "city": [us.city() for _ in range(size // 4)],
        "postcode": postcodes,
        "birth": [us.date_of_birth(minimum_age=18, maximum_age=90) for _ in range(size)],
    }


def make_notes(rows: int, seed: int = 0, pii_share: float = 0.35, pool_size: int = 4000,
               pools: dict[str, list[str]] | None = None) -> tuple[list[str], list[InjectedSpan]]:
    """Free-text notes; about `pii_share` of them carry injected PII."""
    rng = np.random.default_rng(seed + 7)
    pools = pools or _pools(seed, pool_size)
    notes: list[str] = []
    spans: list[InjectedSpan] = []
    for row in range(rows):
        plain = _PLAIN[rng.integers(len(_PLAIN))]
        filler = _FILLERS[rng.integers(len(_FILLERS))]
        if rng.random() >= pii_share:
            text = f"{plain} {filler}"
            if rng.random() < 0.5:  # ticket numbers keep notes distinct, as in real systems
                text += f" (ticket {rng.integers(10_000, 99_999)})"
            notes.append(text[0].upper() + text[1:] + ".")
            continue
        template, slots = _PII[rng.integers(len(_PII))]
        values = {s: pools[s][rng.integers(len(pools[s]))] for s in slots}
        text = ""
        injected = []
        for piece in template.replace("{filler}", filler).split("{"):
            if "}" in piece:
                slot, rest = piece.split("}", 1)
                injected.append((len(text), len(text) + len(values[slot]), SLOT_ENTITY[slot], values[slot]))
                text += values[slot] + rest
            else:
                text += piece
        text = text[0].upper() + text[1:] + ". " + plain.capitalize() + "."
        notes.append(text)
        spans.extend(InjectedSpan(row, s, e, ent, v) for s, e, ent, v in injected)
    return notes, spans


def make_table(rows: int = 100_000, seed: int = 0, pool_size: int = 4000) -> tuple[pa.Table, list[InjectedSpan]]:
    rng = np.random.default_rng(seed)
    pools = _pools(seed, pool_size)

    def pick(name: str) -> list:
        pool = pools[name]
        return [pool[i] for i in rng.integers(len(pool), size=rows)]

    notes, spans = make_notes(rows, seed, pools=pools)
    table = pa.table({
        "id": pa.array(np.arange(1, rows + 1, dtype=np.int64)),
        "full_name": pick("name"),
        "email": pick("email"),
        "phone": pick("phone"),
        "birth_date": pa.array(pick("birth"), type=pa.date32()),
        "postcode": pick("postcode"),
        "income": pa.array(np.round(rng.lognormal(10.5, 0.6, rows), 2)),
        "card_number": pick("card"),
        "iban": pick("iban"),
        "notes": notes,
        "category": [CATEGORIES[i] for i in rng.integers(len(CATEGORIES), size=rows)],
        "is_active": pa.array(rng.random(rows) < 0.7),
    })
    return table, spans
