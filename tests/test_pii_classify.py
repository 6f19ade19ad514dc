"""Column classification with real Presidio recognizers and the real spaCy model, small data."""

from __future__ import annotations

import datetime as dt
import json
import random
import socket

import pandas as pd
import pyarrow as pa
import pytest
from faker import Faker

from pactline.pii.classify import classify_table, name_hint
from pactline.pii.engine import get_engine
from pactline.pii.offline import offline_tld_extractor
from pactline.pii.recognizers import luhn_ok

ROWS = 120


def _luhn_fail(number: str) -> str:
    """Change the last digit so the Luhn check fails."""
    for d in "0123456789":
        candidate = number[:-1] + d
        if not luhn_ok(candidate):
            return candidate
    raise AssertionError


@pytest.fixture(scope="module")
def engine():
    return get_engine()


@pytest.fixture(scope="module")
def table() -> pa.Table:
    fake = Faker("en_US")
    fake.seed_instance(7)
    rnd = random.Random(7)
    words = ["electronics", "books", "garden", "toys", "grocery", "sports", "music", "beauty"]
    plain = ["asked about the delivery window", "refund processed without problems",
             "wants a paper invoice next time", "package arrived late but intact"]
    notes = []
    for i in range(ROWS):
        if i % 3 == 0:
            notes.append(f"Spoke to {fake.name()} who asked for a callback on {fake.phone_number()}. "
                         f"{rnd.choice(plain).capitalize()}.")
        else:
            notes.append(f"{rnd.choice(plain).capitalize()} (ticket {rnd.randint(10000, 99999)}).")
    postcodes = [fake.postcode() for _ in range(ROWS)]
    postcodes = ["0" + p[1:] if i % 4 == 0 else p for i, p in enumerate(postcodes)]
    dobs = [fake.date_of_birth(minimum_age=18, maximum_age=90) for _ in range(ROWS)]
    return pa.table({
        "customer_id": pa.array(range(1, ROWS + 1), type=pa.int64()),
        "amount": pa.array([round(rnd.lognormvariate(4, 1), 2) for _ in range(ROWS)]),
        "postcode": postcodes,
        "notes": notes,
        "category": [rnd.choice(words) for _ in range(ROWS)],
        "email": [fake.email() for _ in range(ROWS)],
        "phone": [fake.phone_number() for _ in range(ROWS)],
        "full_name": [fake.name() for _ in range(ROWS)],
        "card_number": [fake.credit_card_number() for _ in range(ROWS)],
        "dob": pa.array(dobs, type=pa.date32()),
        "dob_text": [d.isoformat() for d in dobs],
        "bad_card": [_luhn_fail(fake.credit_card_number(card_type="visa16")) for _ in range(ROWS)],
        "active": pa.array([i % 2 == 0 for i in range(ROWS)]),
    })


EXPECTED = {
    "customer_id": None,
    "amount": None,
    "postcode": "ZIP_CODE",  # issue 18: a zip code under a zip name is flagged, held as text or as integers
    "category": None,
    "email": "EMAIL_ADDRESS",
    "phone": "PHONE_NUMBER",
    "full_name": "PERSON",
    "card_number": "CREDIT_CARD",
    "dob": "DATE_TIME",
    "dob_text": "DATE_TIME",
    "bad_card": None,
    "active": None,
}


@pytest.fixture(scope="module")
def report(table, engine):
    return classify_table(table, sample_size=100, analyzer=engine)


@pytest.mark.parametrize("column", sorted(EXPECTED))
def test_each_column_is_classified_right(report, column):
    col = report.column(column)
    assert col.entity == EXPECTED[column], (column, col)
    assert not col.is_free_text


def test_free_text_is_scanned_span_by_span(report):
    notes = report.column("notes")
    assert notes.is_free_text
    assert notes.entity is None
    assert notes.entity_counts.get("PERSON", 0) > 0
    assert notes.entity_counts.get("PHONE_NUMBER", 0) > 0
    assert notes.has_pii


def test_luhn_failing_16_digit_numbers_are_not_cards(report):
    bad = report.column("bad_card")
    assert bad.entity is None
    assert bad.share < 0.5


def test_share_and_sample_are_reported(report):
    email = report.column("email")
    assert email.share >= 0.9
    assert email.sampled == 100
    assert 0 < email.confidence <= 1
    assert report.rows == ROWS


def test_report_never_holds_raw_values(table, report):
    text = report.to_json() + report.render()
    for column in ("email", "full_name", "phone", "card_number", "notes"):
        for value in table.column(column).to_pylist():
            assert value not in text, (column, value)
    assert "xxxx@" in report.column("email").examples[0] or "@" in report.column("email").examples[0]


def test_report_to_dict_is_json(report):
    data = json.loads(json.dumps(report.to_dict()))
    assert {c["name"] for c in data["columns"]} == set(report.entities())
    assert data["columns"][0].keys() >= {"entity", "confidence", "share", "is_free_text", "entity_counts",
                                         "examples", "has_pii"}


def test_a_name_hint_alone_does_not_make_pii(engine):
    t = pa.table({"email": ["red", "green", "blue", "yellow"] * 10, "ssn": list(range(40)),
                  "full_name": ["pending", "approved", "rejected", "on hold"] * 10})
    report = classify_table(t, analyzer=engine)
    assert report.entities() == {"email": None, "ssn": None, "full_name": None}
    assert report.column("email").name_hint == "EMAIL_ADDRESS"


def test_one_hit_is_not_enough(engine):
    values = ["alpha", "beta", "gamma", "delta"] * 10
    values[0] = "someone@example.com"
    report = classify_table(pa.table({"tag": values}), analyzer=engine)
    assert report.column("tag").entity is None


def test_accepts_pandas_and_samples_with_a_seed(engine):
    df = pd.DataFrame({"mail": [f"user{i}@example.com" for i in range(300)], "n": range(300)})
    a = classify_table(df, sample_size=50, analyzer=engine, seed=1)
    b = classify_table(df, sample_size=50, analyzer=engine, seed=1)
    assert a.column("mail").entity == "EMAIL_ADDRESS"
    assert a.column("mail").sampled == 50
    assert a.to_dict()["columns"] == b.to_dict()["columns"]


def test_integer_card_numbers_need_luhn(engine):
    good = [4111111111111111, 5500005555555559, 4012888888881881] * 10
    bad = [4111111111111112] * 30
    report = classify_table(pa.table({"pan": good, "ref": bad, "acct": bad}), analyzer=engine)
    assert report.column("pan").entity == "CREDIT_CARD"
    assert report.column("ref").entity is None
    # not a card (Luhn fails), but a long number under an account name is an account number
    assert report.column("acct").entity == "BANK_ACCOUNT"


def test_timestamps_are_dates_and_never_free_text(engine):
    ts = [dt.datetime(2020, 1, 1) + dt.timedelta(hours=i) for i in range(20)]
    report = classify_table(pa.table({"created_at": ts}), analyzer=engine)
    assert report.column("created_at").entity == "DATE_TIME"


def test_name_hints():
    assert name_hint("DateOfBirth") == "DATE_TIME"
    assert name_hint("customer_email") == "EMAIL_ADDRESS"
    assert name_hint("zip") == "ZIP_CODE"
    assert name_hint("income") is None


def test_scan_runs_with_the_network_blocked(monkeypatch, table):
    """tldextract (Presidio's email validation) must use its bundled list, never fetch it."""

    def refuse(*args, **kwargs):
        raise OSError("network access attempted during a PII scan")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    offline_tld_extractor.cache_clear()  # rebuild the extractor while the network is blocked
    report = classify_table(table.select(["email", "notes"]), sample_size=60)
    assert report.column("email").entity == "EMAIL_ADDRESS"
    import tldextract

    assert tldextract.extract("mail.example.co.uk").suffix == "co.uk"
