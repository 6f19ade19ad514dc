"""Column semantics (issue 18): the header dictionary, value shapes with checksums, special categories,
identifiers by uniqueness, quasi-identifier combinations and the evidence every verdict carries.
Real recognizers and the real spaCy model, small tables."""

from __future__ import annotations

import json
import random
import string

import pyarrow as pa
import pytest
from faker import Faker

from pactline.agreement.model import Column, Dataset
from pactline.pii.classify import classify_table
from pactline.pii.engine import get_engine
from pactline.pii.headers import HeaderDictionaryError, match_header
from pactline.pii.quasi import quasi_identifier_combinations, unique_rows
from pactline.pii.shapes import bsn_ok, dni_ok, imei_ok, nir_ok, shape_of, special_of, steuer_id_ok, vin_check_digit
from pactline.pipeline.scan_pii import findings

ROWS = 120


@pytest.fixture(scope="module")
def engine():
    return get_engine()


# --- names -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("header", "entity", "category"), [
    ("LNAME", "PERSON", "direct_identifier"),
    ("FirstName", "PERSON", "direct_identifier"),
    ("mothers_maiden_name", "PERSON", "direct_identifier"),
    ("MAIDEN_NM", "PERSON", "direct_identifier"),  # abbreviated word spelled out
    ("Nachname", "PERSON", "direct_identifier"),
    ("achternaam", "PERSON", "direct_identifier"),
    ("prénom", "PERSON", "direct_identifier"),
    ("apellidos", "PERSON", "direct_identifier"),
    ("Straße", "LOCATION", "direct_identifier"),
    ("addr", "LOCATION", "direct_identifier"),
    ("PLZ", "ZIP_CODE", "quasi_identifier"),
    ("ZIP_CD", "ZIP_CODE", "quasi_identifier"),
    ("code_postal", "ZIP_CODE", "quasi_identifier"),
    ("dob", "DATE_TIME", "quasi_identifier"),
    ("Geburtsdatum", "DATE_TIME", "quasi_identifier"),
    ("tel", "PHONE_NUMBER", "direct_identifier"),
    ("KLANT_EMAIL", "EMAIL_ADDRESS", "direct_identifier"),
    ("cvv2", "CARD_SECURITY_CODE", "direct_identifier"),
    ("pwd", "PASSWORD", "direct_identifier"),
    ("api_token", "SECRET", "direct_identifier"),
    ("bsn", "NATIONAL_ID", "direct_identifier"),
    ("Steuer-ID", "TAX_ID", "direct_identifier"),
    ("latitude", "COORDINATE", "direct_identifier"),
    ("Kfz-Kennzeichen", "LICENSE_PLATE", "direct_identifier"),
    ("tracking_number", "TRACKING_NUMBER", "direct_identifier"),
    ("Blutgruppe", "HEALTH", "sensitive"),
    ("religion", "RELIGION", "sensitive"),
    ("union_member", "TRADE_UNION", "sensitive"),
    ("customer_id", None, "direct_identifier"),  # a person's record key: no entity, an identifier
])
def test_header_dictionary(header, entity, category):
    m = match_header(header)
    assert m is not None and (m.entity, m.category) == (entity, category), m


@pytest.mark.parametrize("header", ["product_name", "user_agent", "pass_rate", "TIJDSTIP", "amount_eur",
                                    "merchant_category", "hotel", "transaction_id"])
def test_names_that_are_not_personal(header):
    m = match_header(header)
    assert m is None or m.category is None, m


def test_dictionary_extends_per_deployment_without_code(tmp_path, monkeypatch):
    extra = tmp_path / "headers.yaml"
    extra.write_text("- entity: LOYALTY_ID\n  category: direct_identifier\n  strength: strong\n"
                     "  names: [bonuskarte, payback*]\n")
    monkeypatch.setenv("PACTLINE_PII_HEADERS", str(extra))
    assert match_header("Bonuskarte").entity == "LOYALTY_ID"
    assert match_header("PAYBACK_NR").entity == "LOYALTY_ID"
    assert match_header("email").entity == "EMAIL_ADDRESS"  # the shipped dictionary still applies
    monkeypatch.delenv("PACTLINE_PII_HEADERS")
    home = tmp_path / "home"
    home.mkdir()
    (home / "pii_headers.yaml").write_text(extra.read_text())
    monkeypatch.setenv("PACTLINE_HOME", str(home))
    assert match_header("bonuskarte").entity == "LOYALTY_ID"


def test_a_malformed_dictionary_is_a_clear_error(tmp_path, monkeypatch):
    bad = tmp_path / "headers.yaml"
    bad.write_text("- entity: x\n  category: personal\n  names: [a]\n")
    monkeypatch.setenv("PACTLINE_PII_HEADERS", str(bad))
    with pytest.raises(HeaderDictionaryError, match="category must be one of"):
        match_header("anything")
    monkeypatch.setenv("PACTLINE_PII_HEADERS", str(tmp_path / "missing.yaml"))
    with pytest.raises(HeaderDictionaryError, match="not a file"):
        match_header("anything")


# --- value shapes ------------------------------------------------------------------------------

def test_checksums_accept_valid_and_reject_altered_ids():
    valid = {bsn_ok: "111222333", steuer_id_ok: "86095742719", nir_ok: "269096005740707", dni_ok: "12345678Z",
             imei_ok: "490154203237518"}
    for check, value in valid.items():
        assert check(value), (check.__name__, value)
        altered = value[:-2] + str((int(value[-2]) + 1) % 10) + value[-1]
        assert not check(altered), (check.__name__, altered)
    assert dni_ok("X1234567L")  # NIE
    assert vin_check_digit("1M8GDM9AXKP042788") and not vin_check_digit("1M8GDM9A1KP042788")


@pytest.mark.parametrize(("value", "entity"), [
    ("000-12-3456", "US_SSN"),  # area 000: Presidio rejects it, it is still SSN-shaped
    ("AB 12 34 56 C", "UK_NINO"),
    ("12345678Z", "ES_NIF"),
    ("269096005740707", "FR_NIR"),
    ("86095742719", "DE_TAX_ID"),
    ("111222333", "NL_BSN"),
    ("742d92d6-1d36-4f2f-9823-fbc11bcfff2f", "UUID"),
    ("bc:6a:9f:4c:27:e8", "MAC_ADDRESS"),
    ("490154203237518", "IMEI"),
    ("1M8GDM9AXKP042788", "VIN"),
    ("52.370216, 4.895168", "COORDINATE"),
    ("10932 Bigge Rd", "LOCATION"),
    ("Hauptstraße 5", "LOCATION"),
    ("Kerkstraat 12a", "LOCATION"),
    ("12, rue de la Paix", "LOCATION"),
    ("Calle Mayor, 5", "LOCATION"),
    ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", "SECRET"),
])
def test_value_shapes(value, entity):
    assert shape_of(value, None)[0] == entity


@pytest.mark.parametrize("value", ["v2.3.1", "PRD-00432-XL", "1.234,56", "2024-01-01T10:00:00Z", "Magenta",
                                   "27ec1356b5a1c3e4f5a6b7c8d9e0f1a2b3c4d5e6", "12 apples", "111222334"])
def test_plain_values_have_no_shape(value):
    assert shape_of(value, None) is None


def test_plain_shapes_count_only_under_their_name():
    assert shape_of("02134", None) is None
    assert shape_of("02134", "ZIP_CODE") == ("ZIP_CODE", 0.7)
    assert shape_of("123", "CARD_SECURITY_CODE")[0] == "CARD_SECURITY_CODE"


def test_special_category_dictionaries():
    assert special_of("AB+", None) == "BLOOD_TYPE"
    assert special_of("E11.9", None) == "ICD10_CODE"
    assert special_of("J45", None) is None and special_of("J45", "HEALTH") == "ICD10_CODE"
    assert special_of("Metformin 500 mg", None) == "MEDICATION"
    assert special_of("katholisch", None) == "RELIGION"
    assert special_of("bisexual", None) == "SEXUAL_ORIENTATION"
    assert special_of("v10.2", None) is None


# --- the combined verdict ----------------------------------------------------------------------

def _luhn_digit(body: str) -> str:
    for d in string.digits:
        cand = body + d
        total = sum((int(c) * 2 - 9 if int(c) * 2 > 9 else int(c) * 2) if i % 2 else int(c)
                    for i, c in enumerate(reversed(cand)))
        if total % 10 == 0:
            return cand
    raise AssertionError


@pytest.fixture(scope="module")
def messy() -> pa.Table:
    """The classes the issue lists as missed, plus plainly non-personal columns that trip naive detectors."""
    fake = Faker("en_US")
    fake.seed_instance(11)
    rnd = random.Random(11)
    n = ROWS
    return pa.table({
        "last_name": [rnd.choice(["White", "Borden", "Green", "Young", "King", "Hill", "Wood", "Stone", "Rose",
                                  "Long", "Hart", "Fox", "Lamb", "Bush", "Cross", "Marsh"]) for _ in range(n)],
        "mothers_maiden_name": [fake.last_name() for _ in range(n)],
        "address": [fake.street_address() for _ in range(n)],
        "zip": pa.array([int(fake.zipcode()) for _ in range(n)], pa.int64()),
        "cvv": pa.array([rnd.randint(100, 999) for _ in range(n)], pa.int64()),
        "natl_id": [f"{rnd.choice(['000', '666', '912'])}-{rnd.randint(1, 99):02d}-{rnd.randint(1, 9999):04d}"
                    for _ in range(n)],
        "username": [fake.user_name() for _ in range(n)],
        "password": [fake.password() for _ in range(n)],
        "guid": [str(fake.uuid4()) for _ in range(n)],
        "mtcn": ["".join(rnd.choice(string.digits) for _ in range(10)) for _ in range(n)],
        "lat": pa.array([float(fake.latitude()) for _ in range(n)]),
        "lon": pa.array([float(fake.longitude()) for _ in range(n)]),
        "blood_type": [rnd.choice(["A+", "A-", "B+", "O+", "O-", "AB+"]) for _ in range(n)],
        "imei": [_luhn_digit("35" + "".join(rnd.choice(string.digits) for _ in range(12))) for _ in range(n)],
        "ref": ["".join(rnd.choice(string.ascii_uppercase + string.digits) for _ in range(12)) for _ in range(n)],
        "order_no": [f"SO-{i:06d}" for i in range(n)],
        "version": [f"{rnd.randint(1, 9)}.{rnd.randint(0, 30)}.{rnd.randint(0, 99)}" for _ in range(n)],
        "product_code": [f"PRD-{rnd.randint(1, 30):05d}" for _ in range(n)],
        "amount": pa.array([round(rnd.uniform(1, 900), 2) for _ in range(n)]),
        "colour": [rnd.choice(["white", "black", "red", "blue", "green"]) for _ in range(n)],
        "weight_lbs": pa.array([rnd.randint(100, 260) for _ in range(n)], pa.int64()),
        "full_name": [rnd.choice(["pending", "approved", "rejected"]) for _ in range(n)],
    })


@pytest.fixture(scope="module")
def messy_report(messy, engine):
    return classify_table(messy, sample_size=ROWS, analyzer=engine)


EXPECTED = {
    "last_name": ("PERSON", "direct_identifier"),
    "mothers_maiden_name": ("PERSON", "direct_identifier"),
    "address": ("LOCATION", "direct_identifier"),
    "zip": ("ZIP_CODE", "quasi_identifier"),
    "cvv": ("CARD_SECURITY_CODE", "direct_identifier"),
    "natl_id": ("US_SSN", "direct_identifier"),
    "username": ("USERNAME", "direct_identifier"),
    "password": ("PASSWORD", "direct_identifier"),
    "guid": ("UUID", "direct_identifier"),
    "mtcn": ("BANK_ACCOUNT", "direct_identifier"),
    "lat": ("COORDINATE", "direct_identifier"),
    "lon": ("COORDINATE", "direct_identifier"),
    "blood_type": ("BLOOD_TYPE", "sensitive"),
    "imei": ("IMEI", "direct_identifier"),
}


@pytest.mark.parametrize("column", sorted(EXPECTED))
def test_what_the_issue_lists_as_missed_is_flagged_with_the_right_entity(messy_report, column):
    c = messy_report.column(column)
    assert (c.entity, c.category) == EXPECTED[column], (column, c.reason, c.evidence)
    assert c.flagged
    assert c.sensitive == (c.category == "sensitive")


@pytest.mark.parametrize("column", ["order_no", "version", "product_code", "amount", "colour", "weight_lbs",
                                    "full_name"])
def test_no_false_alarm_on_plainly_non_personal_columns(messy_report, column):
    c = messy_report.column(column)
    assert not c.flagged and c.entity is None and c.category is None, (column, c.reason, c.evidence)


def test_a_strong_name_the_values_contradict_says_why(messy_report):
    c = messy_report.column("full_name")
    assert "only 3 distinct values" in c.reason
    assert c.evidence["name"]["entity"] == "PERSON" and c.evidence["rule"] == "none"


def test_near_unique_high_entropy_values_are_an_identifier_candidate(messy_report):
    ref = messy_report.column("ref")
    assert ref.entity is None and ref.identifier_candidate and ref.category == "direct_identifier"
    assert ref.uniqueness >= 0.95 and ref.evidence["rule"] == "uniqueness"
    order = messy_report.column("order_no")  # a counter: unique, but where a row sits, not who it is
    assert order.uniqueness == 1.0 and not order.identifier_candidate


def test_every_verdict_carries_its_evidence(messy_report):
    for c in messy_report.columns:
        assert set(c.evidence) >= {"rule", "name", "value_entity", "value_share", "uniqueness", "confidence"}, c.name
        assert c.evidence["confidence"] == c.confidence
    surname = messy_report.column("last_name").evidence
    assert surname["rule"] in ("name", "name+values") and surname["name"]["pattern"] == "lastname"
    zip_ev = messy_report.column("zip").evidence
    assert zip_ev["rule"] == "name+values" and zip_ev["value_share"] == 1.0


def test_special_categories_by_value_alone_are_sensitive(engine):
    rnd = random.Random(3)
    t = pa.table({
        "c1": [rnd.choice(["E11.9", "I10.0", "J45.909", "F32.1"]) for _ in range(60)],
        "c2": [rnd.choice(["Catholic", "Muslim", "Jewish", "Hindu", "Buddhist"]) for _ in range(60)],
        "c3": [rnd.choice(["Hispanic", "Asian", "White", "Black"]) for _ in range(60)],
        "c4": [rnd.choice(["white", "black", "red", "blue"]) for _ in range(60)],  # colours, not ethnicity
        "grade": [rnd.choice(["A+", "A-", "B+", "B-", "C+", "C", "D"]) for _ in range(60)],  # not blood types
    })
    report = classify_table(t, analyzer=engine)
    assert report.column("c1").entity == "ICD10_CODE" and report.column("c1").sensitive
    assert report.column("c2").entity == "RELIGION" and report.column("c2").sensitive
    assert report.column("c3").entity == "ETHNICITY" and report.column("c3").sensitive
    assert not report.column("c4").flagged
    assert not report.column("grade").flagged


def test_multilingual_columns(engine):
    de, nl = Faker("de_DE"), Faker("nl_NL")
    de.seed_instance(5)
    nl.seed_instance(5)
    t = pa.table({
        "Nachname": [de.last_name() for _ in range(60)],
        "Straße": [de.street_address() for _ in range(60)],
        "PLZ": [de.postcode() for _ in range(60)],
        "Blutgruppe": [random.Random(i).choice(["A+", "0-", "B+", "AB-"]) for i in range(60)],
        "bsn": [nl.ssn() for _ in range(60)],
        "woonplaats": [nl.city() for _ in range(60)],
        "Betrag": pa.array([float(i) + 0.5 for i in range(60)]),
    })
    report = classify_table(t, analyzer=engine)
    got = {c.name: (c.entity, c.category) for c in report.columns}
    assert got["Nachname"] == ("PERSON", "direct_identifier")
    assert got["Straße"] == ("LOCATION", "direct_identifier")
    assert got["PLZ"] == ("ZIP_CODE", "quasi_identifier")
    assert got["Blutgruppe"] == ("BLOOD_TYPE", "sensitive")
    assert got["bsn"] == ("NL_BSN", "direct_identifier")  # values name the id, the header agrees
    assert got["woonplaats"][1] == "quasi_identifier"
    assert got["Betrag"] == (None, None)


# --- quasi-identifier combinations -------------------------------------------------------------

def test_quasi_identifier_combinations_are_minimal_counts_only(engine):
    rnd = random.Random(9)
    n = 300
    dob = [f"19{rnd.randint(40, 99)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}" for _ in range(n)]
    t = pa.table({
        "birth_date": dob,
        "zip": [rnd.choice(["10115", "10117", "20095", "80331", "50667"]) for _ in range(n)],
        "gender": [rnd.choice(["female", "male"]) for _ in range(n)],
        "plan": [rnd.choice(["basic", "plus"]) for _ in range(n)],
    })
    report = classify_table(t, analyzer=engine)
    combos = report.quasi_identifiers
    assert combos, report.to_dict()
    for q in combos:
        assert q["rows"] == n and q["unique_rows"] == unique_rows(t, q["columns"])
        assert q["share"] >= 0.5
        # minimal: no reported combination contains another
        assert not any(set(o["columns"]) < set(q["columns"]) for o in combos)
    assert any("birth_date" in q["columns"] for q in combos)
    assert not any(set(q["columns"]) == {"zip", "gender", "plan"} for q in combos)  # 20 classes: nobody unique
    text = json.dumps(report.to_dict()) + report.render()
    for v in set(dob) | {"10115", "20095"}:
        assert v not in text
    assert "quasi-identifier combinations" in report.render()


def test_combinations_over_given_candidates():
    t = pa.table({"a": [1, 1, 2, 2], "b": [1, 2, 1, 2], "c": [0, 0, 0, 0]})
    got = quasi_identifier_combinations(t, candidates=["a", "b", "c"])
    assert got == [{"columns": ["a", "b"], "unique_rows": 4, "rows": 4, "share": 1.0}]


# --- scan_pii: what the agreement declares vs what the scan found ------------------------------

def _col(category: str, **extra) -> Column:
    body = {"type": "string", "category": category, "transformation": {"kind": "keep"}, **extra}
    if category != "non_personal":
        body.setdefault("legal_basis", "contract")
    return Column.model_validate(body)


def test_scan_pii_findings_use_identifiers_and_evidence(messy_report):
    ds = Dataset(id="ds", provider="p", source={"uri": "x.parquet", "format": "parquet"}, columns={
        "ref": _col("non_personal"),
        "order_no": _col("non_personal"),
        "last_name": _col("non_personal"),
        "version": _col("non_personal"),
        "zip": _col("quasi_identifier", pii_entity="LOCATION"),
    })
    found = {f["column"]: f for f in findings(messy_report.to_dict(), ds)}
    assert found["ref"]["kind"] == "identifier"
    assert found["last_name"]["kind"] == "undeclared_pii" and found["last_name"]["found"] == "PERSON"
    assert found["last_name"]["evidence"]["name"]["pattern"] == "lastname"
    assert "order_no" not in found and "version" not in found
    assert "zip" not in found  # ZIP_CODE is a LOCATION: no mismatch
