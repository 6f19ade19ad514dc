"""pactline.synth: agreement-derived SDV metadata, training, sampling, save/load, evaluation and gates.

Real SDV and SDMetrics on the example agreement's admissions data (300 rows); GaussianCopula
everywhere, CTGAN and TVAE for one epoch.
"""

from __future__ import annotations

import importlib.util
import io
import json
import socket
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pactline.agreement import load_agreement
from pactline.agreement.model import QualityRule, Synthesizer, SyntheticThresholds
from pactline.pipeline.map_schema import declared_schema, read_canonical
from pactline.synth import (
    SynthesisError,
    SyntheticGateFailed,
    SynthReport,
    build_metadata,
    evaluate,
    gate,
    load,
    plan_columns,
    sample,
    save,
    split_holdout,
    train,
)
from pactline.synth.fakers import value_set

REPO = Path(__file__).resolve().parent.parent
ROWS = 300
LENIENT = SyntheticThresholds(min_quality_score=0.3, min_dcr_baseline_protection=0.1,
                              min_dcr_overfitting_protection=0.1, max_exact_copies=0)


def _generator():
    spec = importlib.util.spec_from_file_location("generate_sample_data", REPO / "include" / "generate_sample_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def agreement():
    return load_agreement(REPO / "include" / "agreements" / "readmission.yaml").agreement


@pytest.fixture(scope="module")
def admissions(tmp_path_factory, agreement) -> pa.Table:
    """The admissions sample data, mapped and cast to the agreement's canonical columns."""
    out = tmp_path_factory.mktemp("synth-data")
    _generator().generate(out, rows=ROWS, seed=5)
    ds = agreement.dataset("admissions")
    path = out / "readmission" / "admissions.csv"
    return read_canonical(str(path), ds)


@pytest.fixture(scope="module")
def split(admissions):
    return split_holdout(admissions, holdout=0.3, seed=1)


@pytest.fixture(scope="module")
def trained(split, agreement):
    train_t, _ = split
    return train(train_t, agreement.dataset("admissions"), Synthesizer(seed=3), rules=agreement.quality_rules)


@pytest.fixture(scope="module")
def synthetic(trained, split):
    return sample(trained, ROWS, avoid=split[1])


def _identifier_values(table: pa.Table, columns) -> set[str]:
    out: set[str] = set()
    for c in columns:
        out |= {v for v in value_set(table[c]) if len(v) >= 4}
    return out


def _all_text(table: pa.Table) -> set[str]:
    out: set[str] = set()
    for f in table.schema:
        if pa.types.is_string(f.type):
            out |= value_set(table[f.name])
    return out


# -- metadata -----------------------------------------------------------------------------------

def test_metadata_fakes_every_direct_identifier_and_leaves_out_dropped_and_text(agreement, admissions):
    ds = agreement.dataset("admissions")
    md = build_metadata(ds, admissions, agreement.quality_rules).to_dict()["tables"]["admissions"]["columns"]
    assert "full_name" not in md  # transformation drop
    assert "discharge_note" not in md and "comments" not in md  # free text is never modelled
    assert md["email"] == {"sdtype": "email", "pii": True}
    assert md["phone"] == {"sdtype": "phone_number", "pii": True}
    # no Faker mapping for INSURANCE_ID, and case_id is a pseudonymised token: regenerated, never learned
    assert md["insurance_id"]["sdtype"] == "id" and md["insurance_id"]["regex_format"].startswith("syn-")
    assert md["case_id"]["sdtype"] == "id" and "regex_format" in md["case_id"]
    assert md["birth_date"]["sdtype"] == "datetime"
    assert md["sex"]["sdtype"] == "categorical"
    assert md["length_of_stay"]["sdtype"] == "numerical"
    assert md["readmitted_30d"]["sdtype"] == "boolean"
    for name, col in ds.columns.items():
        if col.category == "direct_identifier":
            assert name not in md or md[name].get("pii") is True or "regex_format" in md[name], name


def test_fraud_agreement_identifiers_are_faked_or_regenerated():
    agreement = load_agreement(REPO / "include" / "agreements" / "fraud.yaml").agreement
    roles = {}
    for ds in agreement.datasets:
        schema = declared_schema(ds)
        roles[ds.id] = {s.name: (s.role, s.sdtype) for s in plan_columns(ds, schema, agreement.quality_rules)}
    tx, orders = roles["transactions"], roles["orders"]
    assert tx["customer_email"] == ("faked", "email")
    assert tx["iban"] == ("faked", "iban")
    assert tx["card_number"] == ("faked", "credit_card_number")
    assert tx["transaction_id"] == ("regenerated", "id")  # quality rule unique: a row id, not a category
    assert tx["booked_at"] == ("modelled", "datetime")
    assert orders["customer_name"][0] == "dropped"
    assert orders["device_ip"] == ("faked", "ipv4_address")
    assert orders["remarks"][0] == "excluded"
    assert orders["payment_method"] == ("modelled", "categorical")


def test_undeclared_column_never_reaches_the_model(agreement, admissions):
    extra = admissions.append_column("ward_doctor", pa.array(["Dr. X"] * admissions.num_rows))
    specs = {s.name: s for s in plan_columns(agreement.dataset("admissions"), extra.schema)}
    assert specs["ward_doctor"].role == "excluded"
    md = build_metadata(agreement.dataset("admissions"), extra).to_dict()["tables"]["admissions"]["columns"]
    assert "ward_doctor" not in md


# -- training and sampling ----------------------------------------------------------------------

def test_output_has_no_dropped_text_or_real_identifier(trained, synthetic, admissions):
    assert synthetic.num_rows == ROWS
    assert "full_name" not in synthetic.column_names
    assert "discharge_note" not in synthetic.column_names and "comments" not in synthetic.column_names
    assert synthetic.schema.field("birth_date").type == pa.date32()
    assert synthetic.schema.field("length_of_stay").type == pa.int64()
    assert synthetic.schema.field("readmitted_30d").type == pa.bool_()
    real = _identifier_values(admissions, ["full_name", "email", "phone", "insurance_id", "case_id"])
    assert real and not (real & _all_text(synthetic))
    # faked values look like what they stand for
    emails = [e for e in synthetic["email"].to_pylist() if e]
    assert emails and all("@" in e for e in emails)
    assert all(v.startswith("syn-") for v in synthetic["insurance_id"].to_pylist() if v)


def test_faked_values_that_equal_a_real_value_are_redrawn(trained, synthetic):
    # Pretend the first synthetic sample was real: sampling again with the same seed would repeat
    # every value, so each faked one must be re-drawn.
    again = sample(trained, ROWS, avoid=synthetic)
    for column in ("email", "phone", "insurance_id", "case_id"):
        assert not (value_set(again[column]) & value_set(synthetic[column])), column
        assert trained.last_redrawn[column] > 0
    assert again["sex"].equals(synthetic["sex"])  # modelled columns are not touched


def test_seed_makes_runs_reproducible(split, agreement):
    train_t, _ = split
    ds = agreement.dataset("admissions")
    a = sample(train(train_t, ds, Synthesizer(seed=7)), 100)
    b = sample(train(train_t, ds, Synthesizer(seed=7)), 100)
    c = sample(train(train_t, ds, Synthesizer(seed=8)), 100)
    assert a.equals(b)
    assert not a.equals(c)


def test_save_load_round_trip_samples_the_same(trained, split, admissions):
    blob = save(trained)
    loaded = load(blob)
    assert loaded.columns == trained.columns and loaded.schema == trained.schema
    assert sample(loaded, 120, avoid=admissions).equals(sample(trained, 120, avoid=admissions))
    # what is saved holds no real identifier value (the in-memory avoid set is never written)
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        raw = zf.read("synthesizer.pkl") + zf.read("pactline-synth.json")
    for column in ("full_name", "email", "phone", "insurance_id", "case_id"):
        for value in admissions[column].drop_null().to_pylist()[:50]:
            assert value.strip().encode() not in raw, column


def test_bad_setup_is_a_typed_error(split, agreement, trained):
    with pytest.raises(SynthesisError, match="not a Faker locale"):
        train(split[0], agreement.dataset("admissions"), Synthesizer(locale="xx_YY"))
    with pytest.raises(SynthesisError, match="rows must be at least 1"):
        sample(trained, 0)


def test_load_refuses_foreign_bytes():
    from pactline.errors import DataError

    with pytest.raises(DataError, match="not a saved Pactline synthesizer"):
        load(b"not a zip")


def test_range_and_allowed_values_rules_hold_in_every_synthetic_row(split, agreement):
    train_t, _ = split
    rules = [*agreement.quality_rules,
             QualityRule(dataset="admissions", column="length_of_stay", rule="range", min=1, max=8),
             QualityRule(dataset="admissions", column="race", rule="allowed_values", values=["white", "black"])]
    out = sample(train(train_t, agreement.dataset("admissions"), Synthesizer(seed=2), rules=rules), 200)
    stay = out["length_of_stay"].drop_null()
    assert pc.min(stay).as_py() >= 1 and pc.max(stay).as_py() <= 8
    assert set(out["race"].drop_null().to_pylist()) <= {"white", "black"}


def test_trains_on_the_protected_table(admissions, agreement):
    from pactline.keys import KeyStore
    from pactline.protect import protect_table

    ds = agreement.dataset("admissions")
    protected, _ = protect_table(admissions, ds, keys=KeyStore())
    specs = {s.name: s for s in plan_columns(ds, protected.schema, agreement.quality_rules)}
    assert specs["birth_date"].sdtype == "categorical"  # generalised to a year: text now
    out = sample(train(protected, ds, Synthesizer(seed=1, train_on="protected"), rules=agreement.quality_rules), 50)
    assert not (_identifier_values(protected, ["case_id", "insurance_id"]) & _all_text(out))
    assert set(out["birth_date"].drop_null().to_pylist()) <= set(protected["birth_date"].to_pylist())


@pytest.mark.parametrize("model", ["ctgan", "tvae"])
def test_neural_synthesizers_train_for_an_epoch(split, agreement, model, admissions):
    train_t, _ = split
    params = Synthesizer(model=model, epochs=1, batch_size=55, seed=4)
    trained_nn = train(train_t, agreement.dataset("admissions"), params, rules=agreement.quality_rules)
    out = sample(trained_nn, 60)
    assert out.num_rows == 60 and out.schema == trained_nn.schema
    assert not (_identifier_values(admissions, ["email", "phone", "insurance_id"]) & _all_text(out))
    assert sample(trained_nn, 60).equals(out)
    assert trained_nn.describe()["effective_batch_size"] == (50 if model == "ctgan" else 55)  # CTGAN: pac 10


def test_nothing_touches_the_network(split, agreement, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[:2]}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    train_t, holdout = split
    ds = agreement.dataset("admissions")
    trained_here = load(save(train(train_t, ds, Synthesizer(seed=9))))
    out = sample(trained_here, 100, avoid=split)
    evaluate(train_t, holdout, out, ds, LENIENT, seed=1)


# -- evaluation and gates -----------------------------------------------------------------------

def test_split_holdout_is_seeded_and_disjoint(admissions):
    a_train, a_hold = split_holdout(admissions, holdout=0.25, seed=3)
    b_train, b_hold = split_holdout(admissions, holdout=0.25, seed=3)
    assert a_hold.num_rows == 75 and a_train.num_rows == ROWS - 75
    assert a_hold.equals(b_hold) and a_train.equals(b_train)
    assert not set(a_train["case_id"].to_pylist()) & set(a_hold["case_id"].to_pylist())


@pytest.fixture(scope="module")
def report(split, synthetic, trained, agreement) -> SynthReport:
    train_t, holdout = split
    return evaluate(train_t, holdout, synthetic, agreement.dataset("admissions"), LENIENT, trained=trained, seed=1)


def test_report_has_quality_diagnostic_and_privacy(report):
    assert 0 < report.quality["score"] <= 1
    assert report.quality["column_shapes"] is not None
    assert set(report.quality["per_column"]) >= {"birth_date", "sex", "length_of_stay"}
    assert 0 < report.diagnostic["score"] <= 1
    p = report.privacy
    assert 0 <= p["dcr_baseline_protection"]["score"] <= 1
    assert 0 <= p["dcr_overfitting_protection"]["score"] <= 1
    # on 210 training rows nearly every raw postcode is distinct: ID-like, so regenerated rather than learned
    # (pactline.synth.high_cardinality) and no longer a modelled quasi-identifier the attacker could know
    roles = {c["name"]: c for c in report.columns}
    assert roles["postcode"]["role"] == "regenerated" and roles["postcode"]["reason"].startswith("ID-like")
    assert p["disclosure_protection"]["known"] == ["birth_date", "admission_date"]
    assert p["disclosure_protection"]["sensitive"] == ["diagnosis_code"]
    assert p["disclosure_protection"]["score"] is not None
    assert p["exact_copies"] == 0
    assert p["leaked_identifiers"] == 0 and set(p["leaked_by_column"]) >= {"full_name", "email", "phone"}
    assert not report.notes


def test_report_to_dict_is_json(report):
    d = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert d["dataset"] == "admissions" and d["passed"] is True
    assert {c["metric"] for c in d["checks"]} == {"quality_score", "dcr_baseline_protection",
                                                  "dcr_overfitting_protection", "exact_copies",
                                                  "leaked_identifiers"}
    assert d["synthesizer"]["model"] == "gaussian_copula"
    assert {c["name"]: c["role"] for c in d["columns"]}["full_name"] == "dropped"


def test_gate_passes_when_thresholds_are_met(report):
    gate(report)


def test_gate_fails_naming_metric_observed_value_and_threshold(split, synthetic, agreement):
    train_t, holdout = split
    strict = SyntheticThresholds(min_quality_score=0.99, min_dcr_baseline_protection=0.1,
                                 min_dcr_overfitting_protection=0.1)
    rep = evaluate(train_t, holdout, synthetic, agreement.dataset("admissions"), strict, seed=1)
    with pytest.raises(SyntheticGateFailed) as err:
        gate(rep)
    msg = str(err.value)
    observed = f"{rep.quality['score']:.4f}"
    assert f"quality_score = {observed}, needs >= 0.9900 (privacy.synthetic.min_quality_score)" in msg
    assert [c.metric for c in err.value.failed] == ["quality_score"]


def test_releasing_the_real_rows_fails_copies_and_leaks(split, agreement):
    train_t, holdout = split
    real_as_synthetic = train_t.drop_columns(["full_name", "discharge_note", "comments"])
    rep = evaluate(train_t, holdout, real_as_synthetic, agreement.dataset("admissions"), LENIENT, seed=1)
    assert rep.privacy["exact_copies"] == train_t.num_rows
    assert rep.privacy["leaked_by_column"]["email"] > 0
    with pytest.raises(SyntheticGateFailed) as err:
        gate(rep)
    failed = {c.metric for c in err.value.failed}
    assert {"exact_copies", "leaked_identifiers"} <= failed
    assert f"exact_copies = {train_t.num_rows}, needs <= 0" in str(err.value)
