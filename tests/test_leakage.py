"""The feature-leakage gate (privacy.feature_leakage, issue 14): constructed leaks (the label in disguise, a
near-deterministic proxy, a free-text column that carries the case id, a "non-personal" reference that maps
one-to-one onto a pseudonymised identifier, rows singled out by what an attacker knows) fail and name the column;
clean data passes. The scores against independent computations, the verdicts at their thresholds, the GX suite of
a one-file check, a partitioned run against the one-file check of the same rows, and a whole DAG."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.metrics import normalized_mutual_info_score, roc_auc_score

from pactline.agreement import load_agreement
from pactline.agreement.model import FeatureLeakage
from pactline.checks import check_privacy, leakage, verdicts
from pactline.checks.outcomes import IDENTIFIER_LEAKAGE, LABEL_LEAKAGE, UNIQUE_ROWS
from pactline.errors import DataError

AGREEMENTS = Path(__file__).resolve().parent.parent / "include" / "agreements"
N = 240
DIAGNOSES = ["I50.9", "J18.9", "C34.1", "K70.3", "E11.9"]


@pytest.fixture(scope="module")
def readmission():
    return load_agreement(AGREEMENTS / "readmission.yaml")


def with_leakage(loaded, **fields):
    """The agreement with privacy.feature_leakage set to `fields` (defaults for the rest)."""
    a = loaded.agreement
    return a.model_copy(update={"privacy": a.privacy.model_copy(update={"feature_leakage": FeatureLeakage(**fields)})})


def labels(n: int = N, seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).random(n) < 0.3


def mapped_ids(n: int = N) -> pa.Table:
    """The admissions' raw identifiers as map_schema leaves them (one case per row; patients, names repeat)."""
    return pa.table({
        "case_id": [f"FN-{2024000 + i}" for i in range(n)],
        "full_name": [f"Anna Weber{i % 17}" for i in range(n)],
        "email": [f"p{i}@example.org" for i in range(n)],
        "phone": [f"+49 40 1234{i:03d}" for i in range(n)],
        "insurance_id": [f"K{100000000 + i // 2}" for i in range(n)],  # two admissions per patient
    })


def released(n: int = N, y: np.ndarray | None = None) -> pa.Table:
    """Released admissions without a leak: tokens for the identifiers, every quasi-identifier combination shared
    by several rows (the combinations cycle), a label no column predicts."""
    y = labels(n) if y is None else y
    rng = np.random.default_rng(5)
    return pa.table({
        "case_id": [f"case_{i:032x}" for i in range(n)],
        "email": ["<EMAIL_ADDRESS>"] * n,
        "phone": ["+** ** *****67"] * n,
        "insurance_id": [f"ins_{i // 2:032x}" for i in range(n)],
        "birth_date": [f"19{5 + i % 2}0s" for i in range(n)],
        "postcode": [str(2 + (i // 2) % 2) for i in range(n)],
        "sex": ["female" if (i // 4) % 2 else "male" for i in range(n)],
        "race": ["white" if (i // 8) % 2 else "other" for i in range(n)],
        "diagnosis_code": [DIAGNOSES[i % 5] for i in range(n)],
        "admission_date": pa.array([dt.date(2024, 3, 1) + dt.timedelta(days=(i // 16) % 3) for i in range(n)],
                                   pa.date32()),
        "length_of_stay": pa.array(rng.integers(1, 20, n), pa.int64()),
        "discharge_note": ["Discharged after treatment."] * n,
        "comments": pa.array([None] * n, pa.string()),
        "readmitted_30d": pa.array(y),
    })


def set_column(table: pa.Table, name: str, values, type_: pa.DataType | None = None) -> pa.Table:
    return table.set_column(table.column_names.index(name), name,
                            pa.array(values, type_ or table.schema.field(name).type))


def by_expectation(result, expectation: str) -> dict[str, object]:
    return {o.columns[0]: o for o in result.results if o.expectation == expectation}


# -- the scores against independent computations ---------------------------------------------------


def test_the_label_in_disguise_scores_one_and_a_row_unique_id_scores_chance():
    y = labels()
    disguised = pd.Series(np.where(y, "Z09.8", "I50.9"))  # the label under another name and encoding
    scores = leakage.label_scores(disguised, pd.Series(y))
    assert scores["single_feature_auc"] == 1.0 and scores["normalised_mutual_information"] == pytest.approx(1.0)
    # scored in-sample, a row-unique id would "predict" its own row's label perfectly; out of fold it cannot
    ids = pd.Series([f"T{i}" for i in range(N)])
    assert roc_auc_score(y, pd.Series(y).groupby(ids).transform("mean")) == 1.0
    assert leakage.label_scores(ids, pd.Series(y))["single_feature_auc"] == 0.5


def test_a_proxy_scores_what_an_independent_auc_gives_it():
    y = labels(2000, seed=9)
    flip = np.random.default_rng(1).random(2000) < 0.02
    proxy = np.where(flip, ~y, y)  # agrees with the label on 98% of rows
    scores = leakage.label_scores(pd.Series(proxy), pd.Series(y))
    # for a yes/no feature the AUC is (true positive rate + true negative rate) / 2: sklearn on the feature itself
    assert scores["single_feature_auc"] == pytest.approx(roc_auc_score(y, proxy), abs=0.01)
    assert scores["single_feature_auc"] > 0.95
    assert scores["normalised_mutual_information"] == pytest.approx(normalized_mutual_info_score(y, proxy))
    assert scores["normalised_mutual_information"] < 0.9  # NMI flags near-copies; AUC the proxy


def test_numbers_and_dates_are_binned_and_a_multiclass_label_gets_nmi_only():
    y = labels()
    stay = pd.Series(np.where(y, 30, 2) + np.random.default_rng(2).random(N))  # a separating number, all distinct
    # one quantile bin may hold both sides of the gap: nearly, not exactly, 1
    assert leakage.label_scores(stay, pd.Series(y))["single_feature_auc"] > 0.99
    assert len(np.unique(leakage.categories(stay))) == leakage.BINS
    dates = pd.Series(pd.to_datetime("2024-01-01") + pd.to_timedelta(np.where(y, 300, 0) + np.arange(N) % 50, "D"))
    assert leakage.label_scores(dates, pd.Series(y))["single_feature_auc"] > 0.99
    ward = pd.Series(["a", "b", "c"] * (N // 3))
    scores = leakage.label_scores(ward, ward.map({"a": "x", "b": "y", "c": "z"}))
    assert scores["single_feature_auc"] is None and scores["normalised_mutual_information"] == pytest.approx(1.0)
    assert leakage.label_scores(ward, pd.Series([True] + [False] * (N - 1)))["single_feature_auc"] is None


def test_carried_identifiers():
    assert leakage.carries("case 2024012 seen by the night team", "FN-2024012")  # its digits
    assert leakage.carries("Rückfrage zu fn-2024012", "FN-2024012 ")  # the whole value, any case
    assert not leakage.carries("case 20240123 seen", "FN-2024012")  # inside a longer number
    assert not leakage.carries("admitted 2024", "FN-2024")  # four digits say nothing
    assert not leakage.carries("Anna Webering called", "Anna Weber")  # inside a longer word
    assert not leakage.carries("Li called", "Li")


def test_identifier_mapping_counts_pairs_on_rows_with_both():
    ref = pd.Series(["R1", "R1", "R2", "R3", None])
    member = pd.Series(["K1", "K1", "K2", "K3", "K4"])
    found = leakage.identifier_mapping(ref, member)
    assert found == {"rows": 4, "distinct_column": 3, "distinct_identifier": 3, "pairs": 3, "carried": 0,
                     "checked": 4}
    assert verdicts.one_to_one(found["pairs"], found["distinct_column"], found["distinct_identifier"], found["rows"])
    ward = pd.Series(["A", "A", "B", "B", "B"])  # several people per ward: not one-to-one
    w = leakage.identifier_mapping(ward, member, carried=False)
    assert "carried" not in w
    assert not verdicts.one_to_one(w["pairs"], w["distinct_column"], w["distinct_identifier"], w["rows"])
    assert not verdicts.one_to_one(2, 1, 1, 2)  # one person: no one to tell apart
    # a transaction number and a card used once each: a row key, not the card in disguise
    row_key = leakage.identifier_mapping(pd.Series(["T1", "T2", "T3"]), pd.Series(["4111", "4222", "4333"]))
    assert row_key["pairs"] == row_key["distinct_column"] == row_key["distinct_identifier"] == row_key["rows"] == 3
    assert not verdicts.one_to_one(3, 3, 3, 3)


def test_unique_rows_count_nulls_as_a_value():
    frame = pd.DataFrame({"a": ["x", "x", None, None, "y"], "b": [1, 1, 2, 2, 3]})
    assert leakage.unique_rows(frame, ["a", "b"]) == {"rows": 5, "unique_rows": 1}
    assert leakage.unique_rows(frame.iloc[:0], ["a"]) == {"rows": 0, "unique_rows": 0}
    with pytest.raises(ValueError, match="c are not in the data"):
        leakage.unique_rows(frame, ["c"])


# -- the verdicts at their thresholds ---------------------------------------------------------


@pytest.mark.parametrize(("auc", "nmi", "max_auc", "max_nmi", "passed", "exceeded"), [
    (0.95, 0.9, 0.95, 0.9, True, []),
    (0.951, 0.2, 0.95, 0.9, False, ["single_feature_auc"]),
    (0.6, 0.91, 0.95, 0.9, False, ["normalised_mutual_information"]),
    (0.99, 0.99, None, None, True, []),
    (None, 0.95, 0.95, 0.9, False, ["normalised_mutual_information"]),
    (None, None, 0.95, 0.9, True, []),
])
def test_label_leakage_verdict(auc, nmi, max_auc, max_nmi, passed, exceeded):
    v = verdicts.label_leakage(auc, nmi, max_auc, max_nmi)
    assert (v.success, v.details["exceeded"]) == (passed, exceeded)
    assert v.observed == (auc if auc is not None else nmi)


def test_unique_row_share_and_identifier_verdicts():
    assert verdicts.unique_row_share(5, 100, 0.05).success and not verdicts.unique_row_share(6, 100, 0.05).success
    assert verdicts.unique_row_share(0, 0, 0.0).observed == 0.0
    clean = verdicts.identifier_leakage({"case_id": {"one_to_one": False, "carried": 0, "checked": 10}}, 0.0)
    assert clean.success and clean.observed == 0.0
    v = verdicts.identifier_leakage({"case_id": {"one_to_one": False, "carried": 1, "checked": 10},
                                     "insurance_id": {"one_to_one": True}}, 0.05)
    assert not v.success and v.observed == 0.1
    assert v.details == {"one_to_one_with": ["insurance_id"], "carried_in": ["case_id"]}
    assert verdicts.identifier_leakage({"case_id": {"one_to_one": False, "carried": 1, "checked": 10}}, None).success


# -- the agreement ---------------------------------------------------------------------------


def test_the_section_is_optional_and_leaves_existing_fingerprints_alone(readmission):
    from pactline.agreement.loader import fingerprint

    assert readmission.agreement.privacy.feature_leakage is None
    assert "feature_leakage" not in json.dumps(readmission.agreement.model_dump(mode="json"))
    a = with_leakage(readmission, label="readmitted_30d", identity_columns=["birth_date"], identifiers=[])
    assert fingerprint(a) != readmission.fingerprint
    fl = a.privacy.feature_leakage
    assert (fl.max_single_feature_auc, fl.max_normalised_mutual_information, fl.max_unique_row_share) == (0.95, 0.9,
                                                                                                         0.05)


def test_named_columns_must_be_declared(example_text, tmp_path):
    from pactline.errors import AgreementError

    text = example_text().replace("  max_residual_pii_rate: 0.01\n", "  max_residual_pii_rate: 0.01\n"
                                  "  feature_leakage: {label: readmitted, identifiers: [case_no]}\n")
    (tmp_path / "a.yaml").write_text(text)
    with pytest.raises(AgreementError) as e:
        load_agreement(tmp_path / "a.yaml")
    assert "privacy.feature_leakage.label" in str(e.value) and "'case_no' is not declared" in str(e.value)


# -- one file, through GX -----------------------------------------------------------------------


def test_clean_release_passes_every_leakage_rule(readmission, tmp_path):
    agreement = with_leakage(readmission)
    result = check_privacy(released(), agreement, "admissions", identifiers=mapped_ids(), docs_dir=tmp_path / "docs")
    assert result.passed, result.failures_message()
    label = by_expectation(result, LABEL_LEAKAGE)
    assert set(label) == set(released().column_names) - {"readmitted_30d"}  # every released column but the label
    assert all(o.columns[1] == "readmitted_30d" for o in label.values())
    assert label["case_id"].observed == 0.5  # a token per row predicts nothing
    (unique,) = by_expectation(result, UNIQUE_ROWS).values()
    assert unique.columns == ["birth_date", "postcode", "sex", "race", "admission_date"] and unique.observed == 0.0
    identity = by_expectation(result, IDENTIFIER_LEAKAGE)
    # tokens, placeholders and the identifiers' own columns are not tested; the rest is, free text for carrying only
    assert set(identity) == {"birth_date", "postcode", "sex", "race", "diagnosis_code", "admission_date",
                             "length_of_stay", "discharge_note", "comments"}
    assert identity["discharge_note"].threshold == {"max_carried_identifier_rate": 0.0, "one_to_one": False}
    assert set(identity["sex"].details["identifiers"]) == {"case_id", "full_name", "email", "phone", "insurance_id"}
    text = (tmp_path / "docs").rglob("*.html")
    pages = " ".join(p.read_text() for p in text)
    assert "alone must predict" in pages and "FN-2024" not in pages  # sentences, never a raw identifier


def test_the_label_in_disguise_and_a_proxy_fail_by_name(readmission):
    y = labels()
    table = set_column(released(y=y), "diagnosis_code", list(np.where(y, "Z09.8", "I50.9")))
    flip = np.random.default_rng(4).random(N) < 0.02  # a proxy right on 98.75% of rows (3 flipped)
    table = set_column(table, "length_of_stay", list(np.where(np.where(flip, ~y, y), 15, 3)))
    result = check_privacy(table, with_leakage(readmission), "admissions", identifiers=mapped_ids())
    failed = {o.columns[0]: o for o in result.failures}
    assert set(failed) == {"diagnosis_code", "length_of_stay"}, result.failures_message()
    assert failed["diagnosis_code"].details["exceeded"] == ["single_feature_auc", "normalised_mutual_information"]
    assert failed["length_of_stay"].details["exceeded"] == ["single_feature_auc"]
    assert failed["length_of_stay"].clause == "privacy.feature_leakage"
    message = result.failures_message()
    assert "expect_column_to_not_predict_label on diagnosis_code, readmitted_30d" in message
    assert "Z09" not in message and "Z09" not in json.dumps(result.to_dict())


def test_a_free_text_column_that_carries_the_case_id_fails(readmission):
    notes = [f"Fall {2024000 + i} nachgefragt" if i % 5 == 0 else "Keine Auffälligkeiten."
             for i in range(N)]
    table = set_column(released(), "comments", notes)
    result = check_privacy(table, with_leakage(readmission, max_carried_identifier_rate=0.1), "admissions",
                           identifiers=mapped_ids())
    (failed,) = [o for o in result.failures if o.expectation == IDENTIFIER_LEAKAGE]
    assert failed.columns == ["comments"] and failed.details["carried_in"] == ["case_id"]
    assert failed.observed == pytest.approx(0.2) and failed.details["one_to_one_with"] == []
    assert failed.details["identifiers"]["case_id"]["carried"] == N // 5
    assert "2024000" not in json.dumps(result.to_dict()) and "2024000" not in result.failures_message()
    # the same column without the identifier in it, and a rate the agreement allows, pass
    ok = check_privacy(table, with_leakage(readmission, max_carried_identifier_rate=0.25), "admissions",
                       identifiers=mapped_ids())
    assert not [o for o in ok.failures if o.expectation == IDENTIFIER_LEAKAGE]


def test_a_reference_that_maps_onto_a_pseudonymised_identifier_fails(readmission):
    # a "non-personal" reference, one per patient: the insurance number (released only as a pseudonym) in disguise
    table = set_column(released(), "diagnosis_code", [f"REF{9000 + i // 2}" for i in range(N)])
    result = check_privacy(table, with_leakage(readmission), "admissions", identifiers=mapped_ids())
    (failed,) = [o for o in result.failures if o.expectation == IDENTIFIER_LEAKAGE]
    assert failed.columns == ["diagnosis_code"] and failed.details["one_to_one_with"] == ["insurance_id"]
    found = failed.details["identifiers"]["insurance_id"]
    assert found["pairs"] == found["distinct_column"] == found["distinct_identifier"] == N // 2
    assert "insurance_id" in failed.description


def test_rows_singled_out_by_what_an_attacker_knows_fail(readmission):
    table = set_column(released(), "admission_date", [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(N)])
    result = check_privacy(table, with_leakage(readmission), "admissions", identifiers=mapped_ids())
    (unique,) = by_expectation(result, UNIQUE_ROWS).values()
    assert not unique.success and unique.observed == 1.0 and "admission_date" in unique.columns
    # the agreement may name the columns an attacker knows; over those, nothing is unique
    narrow = check_privacy(table, with_leakage(readmission, identity_columns=["birth_date", "postcode", "sex"]),
                           "admissions", identifiers=mapped_ids())
    (unique,) = by_expectation(narrow, UNIQUE_ROWS).values()
    assert unique.success and unique.columns == ["birth_date", "postcode", "sex"]


def test_without_raw_identifiers_the_mapping_is_skipped_and_said(readmission):
    result = check_privacy(released(), with_leakage(readmission), "admissions")
    assert result.passed and not by_expectation(result, IDENTIFIER_LEAKAGE)
    assert leakage.NOT_GIVEN.format(dataset="admissions") in result.extras["skipped"]
    claims = pa.table({"insurance_id": ["ins_" + "ab" * 16] * 3, "plan_type": ["basic"] * 3, "zip": ["100"] * 3})
    result = check_privacy(claims, with_leakage(readmission), "claims")
    assert any(s.startswith("label leakage: dataset claims releases no label") for s in result.extras["skipped"])
    with pytest.raises(DataError, match="2 rows, the released table 3"):
        check_privacy(claims, with_leakage(readmission), "claims", identifiers=pa.table({"insurance_id": ["a", "b"]}))


# -- aligning the raw identifiers with the released rows ---------------------------------------------


def test_released_rows_are_found_among_the_protected_rows_in_order():
    from pactline.pipeline.leakage import released_positions

    protected = pa.table({"age": ["20-29", "30-39", "20-29", "40-49", "30-39"], "note": ["a", "b", "a", "c", "d"]})
    kept = protected.take([0, 2, 4])  # rows 1 and 3 suppressed
    assert released_positions(kept, protected, ["age"]).tolist() == [0, 2, 4]
    assert released_positions(protected, protected, ["age"]).tolist() == [0, 1, 2, 3, 4]
    # suppression that also generalised the quasi-identifier: matched on the other columns
    coarser = pa.table({"age": ["20-39", "20-39", "20-39"], "note": ["a", "a", "d"]})
    assert released_positions(coarser, protected, ["age"]).tolist() == [0, 2, 4]
    assert released_positions(pa.table({"age": ["x"], "note": ["zz"]}), protected, ["age"]) is None


def test_identifiers_written_differently_are_one_person():
    ref = pd.Series(["R1", "R1", "R2"])
    found = leakage.identifier_mapping(ref, pd.Series(["K-123 456", " k123456", "K777"]))
    assert (found["distinct_identifier"], found["pairs"]) == (2, 2)
    assert verdicts.one_to_one(found["pairs"], found["distinct_column"], found["distinct_identifier"], found["rows"])


# -- a partitioned dataset against the one-file check of the same rows ---------------------------------


FRAUD_LEAKAGE = ("  feature_leakage: {identity_columns: [age, gender], max_carried_identifier_rate: 0.0}\n")


def leaky_transactions(src: Path) -> None:
    """The sample transactions with two leaks: the amount gives the fraud label away, and the merchant category
    is one code per customer (the customer's e-mail, released only as a pseudonym, in disguise)."""
    df = pd.read_csv(src, sep=";", dtype=str, keep_default_na=False)
    fraud = df["FRAUDE"] == "True"
    df["BEDRAG_EUR"] = np.where(fraud, "9000.00", df["BEDRAG_EUR"].astype(float).clip(upper=800).astype(str))
    person = df["KLANT_EMAIL"].str.casefold().str.replace(r"[\W_]+", "", regex=True)
    df["MCC"] = "M" + pd.Series(pd.factorize(person)[0] + 100).astype(str)
    df.to_csv(src, sep=";", index=False)


def test_partitions_decide_leakage_as_the_one_file_check_of_their_rows(workspace, tmp_path, monkeypatch):
    from pactline.checks import CheckFailed
    from pactline.keys import KeyStore
    from pactline.pipeline.context import RunContext
    from pactline.pipeline.leakage import released_positions
    from pactline.store import DataRoot
    from tests.conftest import PSEUDONYM_KEY, amend, partition_steps, partitioned_fraud, split_csv

    monkeypatch.setenv("PACTLINE_SECRET_FRAUD_DETECTION__FRAUD_PSEUDONYM_KEY", PSEUDONYM_KEY)
    data = workspace / "data" / "fraud"
    leaky_transactions(data / "transactions.csv")
    split_csv(data / "transactions.csv", data / "transactions_parts", 3)
    path = partitioned_fraud(workspace / "agreements", "../data/fraud/transactions_parts/*.csv")
    amend(path, path.read_text().replace("  max_residual_pii_rate: 0.01\n",
                                         "  max_residual_pii_rate: 0.01\n" + FRAUD_LEAKAGE))
    events: list = []
    root = DataRoot(str(tmp_path / "root"))
    ctx = RunContext(loaded=load_agreement(path), run_id="manual__leak", as_of=dt.date(2027, 1, 1), root=root,
                     keystore=KeyStore(), recorder=lambda e, payload: events.append((e, payload)))
    maps, protected, released_parts, combine = partition_steps(ctx, "transactions")
    assert all(r["leakage"]["identifiers"] for r in released_parts)  # every partition aligned its identifiers
    with pytest.raises(CheckFailed) as failed:
        combine()
    parts = {(o.expectation, o.columns[0]): o for o in failed.value.result.results
             if o.expectation in (LABEL_LEAKAGE, UNIQUE_ROWS, IDENTIFIER_LEAKAGE)}
    assert {k for k, o in parts.items() if not o.success} == {(LABEL_LEAKAGE, "amount_eur"),
                                                              (IDENTIFIER_LEAKAGE, "merchant_category")}
    # one code per customer: the customer's e-mail and IBAN (both identify the customer) in disguise
    assert parts[(IDENTIFIER_LEAKAGE, "merchant_category")].details["one_to_one_with"] == ["customer_email", "iban"]
    assert all(o.details["partitions"] == 3 for o in parts.values())
    assert [p for e, p in events if e == "incident.opened" and p["kind"] == "gate.privacy"]

    # the one-file check of the same released rows, their raw identifiers aligned the same way
    whole = pa.concat_tables([root.read_table(r["staging"]) for r in released_parts])
    before = pa.concat_tables([root.read_table(p["staging"]) for p in protected])
    raw = pa.concat_tables([root.read_table(m["staging"]) for m in maps])
    positions = released_positions(whole, before, ["age", "gender"])
    ids = raw.select([c for c in ("customer_email", "iban", "card_number") if c in raw.column_names])
    one = check_privacy(whole, ctx.loaded, "transactions", identifiers=ids.take(pa.array(positions)))
    single = {(o.expectation, o.columns[0]): o for o in one.results
              if o.expectation in (LABEL_LEAKAGE, UNIQUE_ROWS, IDENTIFIER_LEAKAGE)}
    assert single.keys() == parts.keys()
    for key, o in parts.items():
        t = single[key]
        assert (key, o.success, o.threshold, o.clause) == (key, t.success, t.threshold, t.clause)
        assert o.description.removesuffix(" over all partitions") == t.description
        if key[0] == IDENTIFIER_LEAKAGE:  # carried rows are summed: exactly the whole table's
            assert o.observed == t.observed
            assert {i: f.get("carried") for i, f in o.details["identifiers"].items()} == \
                   {i: f.get("carried") for i, f in t.details["identifiers"].items()}
        if key[0] == UNIQUE_ROWS:  # unique within a partition bounds unique in the whole from above
            assert o.observed >= t.observed
    assert "9000" not in json.dumps(failed.value.result.to_dict())


# -- a whole DAG ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_dag_stops_the_release_whose_free_text_carries_the_case_id(airflow_home, workspace):
    """readmission with the leakage gate: the coding staff's remarks quote the case number on some rows. k-anonymity
    suppresses rows first, so the raw identifiers are aligned with what is left; every other leakage rule passes,
    the remarks fail by name, the admissions are not released, the claims are."""
    from pactline.recording import open_ledger
    from pactline.store import DataRoot
    from pactline.store.layout import reports
    from tests.conftest import amend, releases, run_dag

    src = workspace / "data" / "readmission" / "admissions.csv"
    df = pd.read_csv(src, dtype=str, keep_default_na=False)
    quoted = df.index % 10 == 3
    cases = df.loc[quoted, "Fallnummer"].str.removeprefix("FN-")
    # a case number is no entity a PII scanner knows: the remark stays as it is, free-text redaction or not
    df.loc[quoted, "Bemerkung"] = "Coding checked for case " + cases + "."
    df.to_csv(src, index=False)
    path = workspace / "agreements" / "readmission.yaml"
    amend(path, path.read_text().replace(
        "  max_residual_pii_rate: 0.01\n",
        "  max_residual_pii_rate: 0.01\n  feature_leakage: {identity_columns: [birth_date, postcode, sex]}\n"))
    loaded = load_agreement(path)
    run = run_dag(path, approve=["admissions.approve_admissions-release"])
    assert "fail" in str(run.state).lower()
    assert set(releases(loaded.id, run.run_id)) == {"claims-release"}

    entries = [e for e in open_ledger().entries() if (e.payload or {}).get("run_id") == run.run_id]
    suppressed = [e.payload for e in entries if e.event == "rows.suppressed" and e.payload["dataset"] == "admissions"]
    assert suppressed and suppressed[0]["suppressed"] > 0  # released rows are fewer than the raw ones
    assert not [e for e in entries if e.event == "leakage.unaligned"]
    failed = [e.payload for e in entries if e.event == "check.result" and not e.payload["passed"]]
    assert [(f["dataset"], f["check"]) for f in failed] == [("admissions", "privacy")]
    assert failed[0]["failures"] == [next(f for f in failed[0]["failures"]
                                          if f.startswith("expect_column_to_not_reveal_identifiers on comments"))]
    ledger_text = json.dumps([e.payload for e in entries])
    assert not [c for c in cases if c in ledger_text]  # no case number in any ledger entry

    result = DataRoot().read_json(reports(loaded.id, "admissions", run.run_id, "checks") + "/result_privacy.json")
    outcomes = {(o["expectation"], o["columns"][0]): o for o in result["results"]}
    comments = outcomes[(IDENTIFIER_LEAKAGE, "comments")]
    assert not comments["success"] and comments["details"]["carried_in"] == ["case_id"]
    assert comments["details"]["identifiers"]["case_id"]["carried"] > 0
    measured = {k for k in outcomes if k[0] in (LABEL_LEAKAGE, UNIQUE_ROWS, IDENTIFIER_LEAKAGE)}
    assert (IDENTIFIER_LEAKAGE, "discharge_note") in measured and (UNIQUE_ROWS, "birth_date") in measured
    assert (LABEL_LEAKAGE, "length_of_stay") in measured
    assert all(outcomes[k]["success"] for k in measured - {(IDENTIFIER_LEAKAGE, "comments")})
    claims = DataRoot().read_json(reports(loaded.id, "claims", run.run_id, "checks") + "/result_privacy.json")
    assert claims["passed"] and any(s.startswith("label leakage: dataset claims") for s in claims["extras"]["skipped"])


@pytest.mark.parametrize("name", ["ExpectColumnToNotPredictLabel", "ExpectUniqueRowShareToBeAtMost",
                                  "ExpectColumnToNotRevealIdentifiers"])
def test_leakage_expectations_are_registered_and_round_trip(name):
    from great_expectations.expectations.registry import get_expectation_impl

    import expectations

    cls = getattr(expectations, name)
    assert get_expectation_impl(cls.expectation_type) is cls
    e = expectations.ExpectColumnToNotRevealIdentifiers(column="comments", identifiers=["case_id"], one_to_one=False)
    again = e.configuration.to_domain_obj()
    assert (again.column, again.identifiers, again.one_to_one, again.max_carried_rate) == ("comments", ["case_id"],
                                                                                           False, 0.0)
