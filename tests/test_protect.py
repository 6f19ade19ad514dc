"""Unit tests of the protect engine, one transformation at a time, with hand-computed expectations."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import subprocess
import sys
import types
from typing import Any

import pyarrow as pa
import pytest

from pactline.errors import DataError, PolicyViolation
from pactline.protect import ColumnAction, decrypt_column, protect_column, protect_table
from pactline.protect.hashing import Hmac256
from tests.conftest import PSEUDO_KEY, col, dataset, fixed_keys, token  # the builders test_protect_streaming shares


def run(values: Any, transformation: dict[str, Any], type: str = "string", **kw: Any) -> list[Any] | None:
    arr = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values)
    extra = {k: kw.pop(k) for k in ("pii_entity",) if k in kw}
    out = protect_column(arr, "c", col(transformation, type, **extra), keys=kw.pop("keys", fixed_keys()), **kw)
    return None if out is None else out.to_pylist()


# -- keep / drop / redact -------------------------------------------------------------------------


def test_keep_returns_the_values_unchanged():
    arr = pa.array(["a", None]).dictionary_encode()
    out = protect_column(arr, "c", col({"kind": "keep"}), keys=fixed_keys())
    assert out is arr


def test_drop_returns_none():
    assert run(["a", None], {"kind": "drop"}) is None


def test_redact_uses_the_entity_placeholder_and_keeps_nulls():
    assert run(["alice", None, ""], {"kind": "redact"}, pii_entity="PERSON") == ["<PERSON>", None, "<PERSON>"]
    assert run([1, None], {"kind": "redact"}, type="integer") == ["<REDACTED>", None]
    assert run(["x"], {"kind": "redact", "placeholder": "[card]"}) == ["[card]"]


# -- mask -----------------------------------------------------------------------------------------


def test_mask_keep_last_keeps_separators_and_length():
    out = run(["+44 20 7946 0958", "555-123-4567", "4111 1111 1111 1234", None], {"kind": "mask", "n": 4})
    assert out == ["+** ** **** 0958", "***-***-4567", "**** **** **** 1234", None]


def test_mask_matches_the_readmission_agreement_example():
    assert run(["+49 40 1234567"], {"kind": "mask", "n": 2}) == ["+** ** *****67"]


def test_mask_keep_first_and_other_char():
    out = run(["DE89 3704 0044", "(030) 123"], {"kind": "mask", "mode": "keep_first", "n": 4, "char": "#"})
    assert out == ["DE89 #### ####", "(030) 1##"]


def test_mask_without_separators_masks_them_too():
    assert run(["555-123-4567"], {"kind": "mask", "n": 4, "keep_separators": False}) == ["********4567"]


def test_mask_never_releases_a_short_value_unchanged():
    assert run(["123", "1234", "12345", ""], {"kind": "mask", "n": 4}) == ["***", "****", "*2345", ""]


def test_mask_email_domain():
    out = run(["john.doe@example.com", "a+b@x.org", "no-at-sign", "", None], {"kind": "mask", "mode": "email_domain"})
    assert out == ["****.***@example.com", "*+*@x.org", "**-**-****", "", None]


def test_mask_counts_characters_not_bytes():
    assert run(["Müller-Lüdenscheidt"], {"kind": "mask", "n": 3}) == ["******-*********idt"]


def test_mask_reads_integers_as_their_decimal_text():
    assert run([4111111111111234, None], {"kind": "mask", "n": 4}, type="integer") == ["************1234", None]


def _reference_mask(s: str, mode: str, n: int, char: str, keep_separators: bool) -> str:
    """The mask rules written out plainly, one character at a time."""
    seps = set(" -.@+()") if keep_separators else set()
    maskable = [i for i, ch in enumerate(s) if ch not in seps]
    if mode == "email_domain":
        at = s.rfind("@")
        keep = set(range(at, len(s))) if at >= 0 else set()
    elif len(maskable) <= n:
        keep = set()
    else:
        keep = set(maskable[len(maskable) - n:] if mode == "keep_last" else maskable[:n])
    return "".join(ch if ch in seps or i in keep else char for i, ch in enumerate(s))


@pytest.mark.parametrize("mode", ["keep_last", "keep_first", "email_domain"])
@pytest.mark.parametrize("keep_separators", [True, False])
@pytest.mark.parametrize("char", ["*", "•"])
def test_mask_kernel_agrees_with_the_plain_rules_on_random_text(mode, keep_separators, char):
    import random

    rng = random.Random(f"{mode}{keep_separators}{char}")
    alphabet = "ab1 -.@+()éß€😀"
    values = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(12))) for _ in range(300)]
    values = [None if rng.random() < 0.1 else v for v in values]
    spec = {"kind": "mask", "mode": mode, "n": rng.randrange(5), "char": char, "keep_separators": keep_separators}
    expected = [None if v is None else _reference_mask(v, mode, spec["n"], char, keep_separators) for v in values]
    arr = pa.array(["padding", *values])[1:]  # a sliced array: the kernel must honour the offset
    assert run(arr, spec) == expected
    assert run(pa.array(values, pa.large_string()), spec) == expected


# -- pseudonymise ---------------------------------------------------------------------------------


def test_pseudonymise_is_hmac_sha256_of_the_utf8_value():
    out = run(["alice@example.com"], {"kind": "pseudonymise", "length": 64})
    assert out == [token("alice@example.com", length=64)]
    # pinned, so a change of algorithm can never go unnoticed by the parties joining on it
    assert out == ["a59fc578d4cb46faab1d6eb348e7c74b33b85122d6459fdb7bf5654b333acab4"]


def test_pseudonymise_prefix_and_length():
    assert run(["alice@example.com"], {"kind": "pseudonymise", "prefix": "pt_", "length": 16}) == ["pt_a59fc578d4cb46fa"]


@pytest.mark.parametrize(
    ("normalise", "raw", "normalised"),
    [
        (["strip"], "  Ab C \t", "Ab C"),
        (["lower"], "ÄB", "äb"),
        (["upper"], "ab", "AB"),
        (["collapse_whitespace"], " a \t\n b ", " a b "),
        (["strip", "collapse_whitespace"], " a \t\n b ", "a b"),
        (["digits_only"], "+49 (40) 12-34", "49401234"),
        (["alnum_only", "upper"], "ab-12 3/x", "AB123X"),
    ],
)
def test_pseudonymise_normalisers_apply_in_order(normalise, raw, normalised):
    assert run([raw], {"kind": "pseudonymise", "normalise": normalise}) == [token(normalised)]


def test_pseudonymise_nulls_and_values_that_normalise_to_empty_are_null():
    out = run(["a", None, "", "  ", "---"], {"kind": "pseudonymise", "normalise": ["strip", "digits_only"]})
    assert out == [None, None, None, None, None]
    assert run(["", "x"], {"kind": "pseudonymise"}) == [None, token("x")]


def test_pseudonymise_integers_use_their_canonical_decimal_form():
    assert run([42, -7, None], {"kind": "pseudonymise"}, type="integer") == [token("42"), token("-7"), None]
    assert run([42], {"kind": "pseudonymise"}, type="integer") == run(["42"], {"kind": "pseudonymise"})


def test_two_datasets_pseudonymise_the_same_email_to_the_same_token():
    spec = {"kind": "pseudonymise", "normalise": ["strip", "lower"], "prefix": "pt_"}
    hospital = dataset({"email": col(spec), "ward": col({"kind": "keep"})}, id="hospital")
    insurer = dataset({"mail": col(spec)}, id="insurer")
    a, _ = protect_table(pa.table({"email": ["Alice@Example.com ", "bob@x.org"], "ward": ["3", "4"]}), hospital,
                         keys=fixed_keys())
    b, _ = protect_table(pa.table({"mail": ["  alice@EXAMPLE.COM"]}), insurer, keys=fixed_keys())
    assert a["email"][0].as_py() == b["mail"][0].as_py() == token("alice@example.com", prefix="pt_")
    assert a["email"][1].as_py() != a["email"][0].as_py()


def test_pseudonymise_is_the_same_in_another_process():
    code = (
        "import pyarrow as pa\n"
        "from tests.test_protect import col, fixed_keys\n"
        "from pactline.protect import protect_column\n"
        "c = col({'kind': 'pseudonymise', 'normalise': ['strip', 'lower']})\n"
        "print(protect_column(pa.array([' Bob@X.org']), 'c', c, keys=fixed_keys())[0].as_py())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(__import__("pathlib").Path(__file__).parent.parent))
    assert out.stdout.strip() == token("bob@x.org")


def test_different_keys_give_different_tokens():
    spec = {"kind": "pseudonymise"}
    assert run(["a"], spec) != run(["a"], spec, keys=fixed_keys(pseudo=bytes(32)))


@pytest.mark.parametrize("key", [b"k" * 32, b"k" * 64, b"k" * 65, bytes(range(200))])
def test_hmac_helper_equals_stdlib_hmac(key):
    assert Hmac256(key).hexdigest(b"value") == hmac.new(key, b"value", hashlib.sha256).hexdigest()


def test_dictionary_and_chunked_large_string_inputs():
    spec = {"kind": "pseudonymise", "length": 16}
    dict_arr = pa.array(["a", "b", None, "a"]).dictionary_encode()
    assert run(dict_arr, spec) == [token("a", length=16), token("b", length=16), None, token("a", length=16)]
    chunked = pa.chunked_array([["a", "b"], [None, "a"]], type=pa.large_string())
    out = protect_column(chunked, "c", col(spec), keys=fixed_keys())
    assert isinstance(out, pa.ChunkedArray) and out.type == pa.large_string() and out.num_chunks == 2
    assert out.to_pylist() == run(dict_arr, spec)


# -- generalise -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("granularity", "expected"), [("year", "2024"), ("quarter", "2024-Q2"), ("month", "2024-05")])
def test_generalise_dates_of_every_type(granularity, expected):
    spec = {"kind": "generalise", "method": "date", "granularity": granularity}
    d = dt.date(2024, 5, 31)
    assert run(pa.array([d, None], pa.date32()), spec, type="date") == [expected, None]
    assert run(pa.array([d, None], pa.date64()), spec, type="date") == [expected, None]
    assert run(pa.array([dt.datetime(2024, 5, 31, 12), None], pa.timestamp("us")), spec, type="timestamp") == [
        expected, None]
    assert run(["2024-05-31", " 2024-05-31T23:00:00+02:00", None], spec) == [expected, expected, None]
    assert run(pa.array(["2024-05-31"]).dictionary_encode(), spec) == [expected]


def test_generalise_date_of_a_zoned_timestamp_uses_local_time():
    utc = pa.array([dt.datetime(2024, 12, 31, 23, 30, tzinfo=dt.UTC)], pa.timestamp("us", tz="UTC"))
    berlin = utc.cast(pa.timestamp("us", tz="Europe/Berlin"))
    spec = {"kind": "generalise", "method": "date", "granularity": "year"}
    assert run(utc, spec, type="timestamp") == ["2024"]
    assert run(berlin, spec, type="timestamp") == ["2025"]


def test_generalise_date_refuses_text_that_is_not_a_date_and_names_the_row():
    spec = {"kind": "generalise", "method": "date"}
    with pytest.raises(DataError) as err:
        run(["2024-05-31", "1961-07-14", "31/05/2024"], spec)
    msg = str(err.value)
    assert "'c'" in msg and "row 3" in msg and "ISO 8601" in msg
    assert "31/05/2024" not in msg  # values stay out of error messages


def test_bands_of_fixed_width():
    spec = {"kind": "generalise", "method": "bands", "width": 10}
    assert run([0, 9, 35, -1, None, 100], spec, type="integer") == [
        "[0, 10)", "[0, 10)", "[30, 40)", "[-10, 0)", None, "[100, 110)"]
    assert run([39.5, float("nan"), None], spec, type="float") == ["[30, 40)", None, None]
    assert run([0.25], {**spec, "width": 0.1}, type="float") == ["[0.2, 0.3)"]


def test_bands_with_edges_label_values_outside_them():
    spec = {"kind": "generalise", "method": "bands", "edges": [18, 30, 90]}
    assert run([5, 18, 29, 30, 89.9, 90, 120, None], spec, type="float") == [
        "<18", "[18, 30)", "[18, 30)", "[30, 90)", "[30, 90)", ">=90", ">=90", None]


def test_bands_refuse_infinity_with_a_width():
    with pytest.raises(DataError, match=r"row 2 is infinite"):
        run([1.0, float("inf")], {"kind": "generalise", "method": "bands", "width": 10}, type="float")


def test_truncate_postcodes():
    spec = {"kind": "generalise", "method": "truncate", "keep": 3}
    assert run(["SW1A 1AA", " B1 1AA", "22307", "AB", "", None], spec) == ["SW1", "B1", "223", "AB", "", None]
    assert run([22307, None], spec, type="integer") == ["223", None]


def test_rare_to_other_pools_categories_seen_too_rarely():
    spec = {"kind": "generalise", "method": "rare_to_other", "min_count": 2}
    assert run(["a", "a", "b", None, "c", "c"], spec, type="categorical") == ["a", "a", "other", None, "c", "c"]
    assert run([1, 1, 2], {**spec, "other": "rare"}, type="integer") == ["1", "1", "rare"]
    # counts over the whole input decide, not the array at hand
    out = protect_column(pa.array(["a", "b"]), "c", col(spec), keys=fixed_keys(), counts={"a": 5, "b": 1})
    assert out.to_pylist() == ["a", "other"]
    assert run(pa.array(["x", "x", "y"]).dictionary_encode(), spec) == ["x", "x", "other"]


# -- date shift -----------------------------------------------------------------------------------


def _offsets(dates: list[dt.date], shifted: list[dt.date | None]) -> list[int | None]:
    return [None if s is None else (s - d).days for d, s in zip(dates, shifted, strict=True)]


def test_date_shift_is_one_offset_per_subject_and_stays_in_bounds():
    spec = {"kind": "date_shift", "subject_column": "pid", "max_days": 3}
    subjects = [f"p{i % 400}" for i in range(1200)]
    dates = [dt.date(2024, 1, 1) + dt.timedelta(days=i % 17) for i in range(1200)]
    shifted = run(pa.array(dates), spec, type="date", subject=pa.array(subjects))
    offsets = _offsets(dates, shifted)
    per_subject: dict[str, set[int]] = {}
    for s, o in zip(subjects, offsets, strict=True):
        per_subject.setdefault(s, set()).add(o)
    assert all(len(v) == 1 for v in per_subject.values())
    seen = {o for v in per_subject.values() for o in v}
    assert seen == {-3, -2, -1, 0, 1, 2, 3}  # 400 subjects cover the whole range, never beyond
    # the same subject gets the same offset in another call (another run, another dataset)
    again = run(pa.array(dates[:5]), spec, type="date", subject=pa.array(subjects[:5]))
    assert again == shifted[:5]


def test_date_shift_offset_is_the_documented_hmac():
    spec = {"kind": "date_shift", "subject_column": "pid", "max_days": 30}
    digest = hmac.new(PSEUDO_KEY, b"date_shift:p1", hashlib.sha256).digest()
    expected = int.from_bytes(digest[:8], "big") % 61 - 30
    out = run(pa.array([dt.date(2024, 3, 1)]), spec, type="date", subject=pa.array(["p1"]))
    assert out == [dt.date(2024, 3, 1) + dt.timedelta(days=expected)]


def test_date_shift_keeps_the_type_and_nulls_dates_of_unknown_subjects():
    spec = {"kind": "date_shift", "subject_column": "pid", "max_days": 10}
    ts_type = pa.timestamp("ms", tz="Europe/Berlin")
    ts = pa.array([dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC)] * 2 + [None], ts_type)
    subject = pa.array([7, None, 7])
    out = protect_column(ts, "c", col(spec, "timestamp"), keys=fixed_keys(), subject=subject)
    assert out.type == ts_type
    assert out[1].as_py() is None and out[2].as_py() is None
    delta = out[0].as_py() - ts[0].as_py()
    assert delta.seconds == 0 and abs(delta.days) <= 10
    dates = pa.array([dt.date(2024, 1, 1)], pa.date64())
    assert protect_column(dates, "c", col(spec, "date"), keys=fixed_keys(), subject=pa.array([7])).type == pa.date64()


def test_date_shift_subject_is_normalised_like_its_pseudonym():
    pid = {"kind": "pseudonymise", "normalise": ["alnum_only", "upper"]}
    ds = dataset({"pid": col(pid), "seen": col({"kind": "date_shift", "subject_column": "pid"}, "date")})
    day = dt.date(2024, 6, 1)
    out, _ = protect_table(pa.table({"pid": ["ab-12", "AB12", "x"], "seen": [day, day, day]}), ds, keys=fixed_keys())
    assert out["pid"][0] == out["pid"][1]
    assert out["seen"][0] == out["seen"][1]


def test_date_shift_needs_the_subject_values():
    spec = {"kind": "date_shift", "subject_column": "pid"}
    with pytest.raises(DataError, match="subject column 'pid'"):
        run(pa.array([dt.date(2024, 1, 1)]), spec, type="date")
    with pytest.raises(DataError, match="2 subject values for 1 dates"):
        run(pa.array([dt.date(2024, 1, 1)]), spec, type="date", subject=pa.array(["a", "b"]))


# -- encrypt --------------------------------------------------------------------------------------


def test_encrypt_is_deterministic_and_round_trips():
    c = col({"kind": "encrypt"})
    values = pa.array(["alice", None, "alice", "bob", ""])
    enc = protect_column(values, "c", c, keys=fixed_keys())
    assert enc[0] == enc[2] and enc[0] != enc[3] and enc[1].as_py() is None
    assert all(v.startswith("enc:") and "=" not in v for v in enc.to_pylist() if v is not None)
    assert protect_column(values, "c", c, keys=fixed_keys()).equals(enc)  # same in every run
    assert decrypt_column(enc, "c", c, keys=fixed_keys()).to_pylist() == values.to_pylist()
    ints = protect_column(pa.array([42]), "c", col({"kind": "encrypt"}, "integer"), keys=fixed_keys())
    assert ints.equals(protect_column(pa.array(["42"]), "c", c, keys=fixed_keys()))


def test_decrypt_refuses_a_wrong_key_tampering_and_plain_text():
    c = col({"kind": "encrypt"})
    token_ = protect_column(pa.array(["alice"]), "c", c, keys=fixed_keys())[0].as_py()
    with pytest.raises(DataError, match="row 1 does not decrypt"):
        decrypt_column(pa.array([token_]), "c", c, keys=fixed_keys(enc=bytes(32)))
    with pytest.raises(DataError, match="row 2 is not a Pactline ciphertext"):
        decrypt_column(pa.array([token_, "alice"]), "c", c, keys=fixed_keys())
    altered = token_[:6] + ("B" if token_[6] != "B" else "C") + token_[7:]
    with pytest.raises(DataError, match="row 1 does not decrypt"):
        decrypt_column(pa.array([altered]), "c", c, keys=fixed_keys())
    with pytest.raises(DataError, match="not 'encrypt'"):
        decrypt_column(pa.array([token_]), "c", col({"kind": "redact"}), keys=fixed_keys())


# -- redact_text (delegates to pactline.pii.text) --------------------------------------------------


def test_redact_text_delegates_distinct_values_with_the_agreement_arguments(monkeypatch):
    calls = []

    def fake_redact_text(values, *, entities, placeholder):
        calls.append((values, entities, placeholder))
        return pa.array([v.replace("Alice", placeholder.format(entity="PERSON")) for v in values.to_pylist()])

    module = types.ModuleType("pactline.pii.text")
    module.redact_text = fake_redact_text
    monkeypatch.setitem(sys.modules, "pactline.pii.text", module)
    spec = {"kind": "redact_text", "entities": ["PERSON"], "placeholder": "[{entity}]"}
    out = run(["Alice called", None, "Alice called", "no names"], spec, type="text")
    assert out == ["[PERSON] called", None, "[PERSON] called", "no names"]
    assert len(calls) == 1
    values, entities, placeholder = calls[0]
    assert isinstance(values, pa.Array) and sorted(values.to_pylist()) == ["Alice called", "no names"]
    assert entities == ["PERSON"] and placeholder == "[{entity}]"


# -- type refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("transformation", "values", "needs"),
    [
        ({"kind": "mask"}, pa.array([dt.date(2024, 1, 1)]), "text or integer"),
        ({"kind": "pseudonymise"}, pa.array([1.5]), "text or integer"),
        ({"kind": "encrypt"}, pa.array([True]), "text or integer"),
        ({"kind": "generalise", "method": "bands", "width": 5}, pa.array(["30"]), "integer or float or decimal"),
        ({"kind": "generalise", "method": "date"}, pa.array([20240101]), "date or timestamp or text"),
        ({"kind": "generalise", "method": "truncate"}, pa.array([1.0]), "text or integer"),
        ({"kind": "generalise", "method": "rare_to_other"}, pa.array([1.0]), "text or integer"),
        ({"kind": "date_shift", "subject_column": "pid"}, pa.array(["2024-01-01"]), "date or timestamp"),
        ({"kind": "redact_text"}, pa.array([1]), "text"),
    ],
)
def test_types_a_transformation_cannot_handle_are_refused(transformation, values, needs):
    with pytest.raises(DataError) as err:
        protect_column(values, "amount", col(transformation), keys=fixed_keys(), subject=pa.array(["s"]))
    msg = str(err.value)
    assert "'amount'" in msg and needs in msg and str(values.type) in msg


def test_date_shift_refuses_a_subject_of_the_wrong_type():
    spec = {"kind": "date_shift", "subject_column": "pid"}
    with pytest.raises(DataError, match=r"'pid'.*text or integer"):
        run(pa.array([dt.date(2024, 1, 1)]), spec, type="date", subject=pa.array([1.5]))


# -- nulls, for every transformation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("transformation", "values"),
    [
        ({"kind": "keep"}, pa.array([None, None], pa.string())),
        ({"kind": "redact"}, pa.array([None, None], pa.string())),
        ({"kind": "mask"}, pa.array([None, None], pa.string())),
        ({"kind": "pseudonymise"}, pa.array([None, None], pa.string())),
        ({"kind": "encrypt"}, pa.array([None, None], pa.int64())),
        ({"kind": "generalise", "method": "date"}, pa.array([None, None], pa.date32())),
        ({"kind": "generalise", "method": "date"}, pa.array([None, None], pa.string())),
        ({"kind": "generalise", "method": "bands", "width": 1}, pa.array([None, None], pa.float64())),
        ({"kind": "generalise", "method": "bands", "edges": [1, 2]}, pa.array([None, None], pa.int32())),
        ({"kind": "generalise", "method": "truncate"}, pa.array([None, None], pa.string())),
        ({"kind": "generalise", "method": "rare_to_other"}, pa.array([None, None], pa.string())),
        ({"kind": "date_shift", "subject_column": "pid"}, pa.array([None, None], pa.date32())),
        ({"kind": "redact_text"}, pa.array([None, None], pa.string())),
        ({"kind": "mask"}, pa.nulls(2)),
        ({"kind": "pseudonymise"}, pa.nulls(2)),
    ],
)
def test_all_null_input_stays_all_null(transformation, values):
    out = protect_column(values, "c", col(transformation), keys=fixed_keys(), subject=pa.array(["s", "t"]))
    assert out.to_pylist() == [None, None]


# -- tables ---------------------------------------------------------------------------------------


def test_protect_table_refuses_undeclared_columns():
    ds = dataset({"a": col({"kind": "keep"})})
    with pytest.raises(PolicyViolation) as err:
        protect_table(pa.table({"a": [1], "secret": ["x"]}), ds, keys=fixed_keys())
    assert err.value.clause == "datasets[].columns" and "secret" in str(err.value)


def test_protect_table_refuses_missing_declared_columns():
    ds = dataset({"a": col({"kind": "keep"}), "b": col({"kind": "drop"})})
    with pytest.raises(DataError, match=r"\['b'\] are missing"):
        protect_table(pa.table({"a": [1]}), ds, keys=fixed_keys())


def test_protect_table_records_one_action_per_column_without_secrets():
    ds = dataset({
        "email": col({"kind": "pseudonymise", "normalise": ["strip", "lower"], "examples": [{"input": "a", "output": "b"}]}),
        "name": col({"kind": "drop"}),
        "age": col({"kind": "generalise", "method": "bands", "width": 10}, "integer"),
        "card": col({"kind": "redact"}, pii_entity="CREDIT_CARD"),
    })
    table = pa.table({"name": ["A", "B", "C"], "email": ["a@x", "A@X ", None], "age": [31, None, 45],
                      "card": ["4111", None, "5500"]}, metadata={"partner": "anything"})
    out, actions = protect_table(table, ds, keys=fixed_keys())
    assert out.column_names == ["email", "age", "card"] and out.schema.metadata is None
    by_name = {a.name: a for a in actions}
    assert [a.name for a in actions] == ["name", "email", "age", "card"]
    assert by_name["name"] == ColumnAction("name", "drop", {}, rows=3, nulls=0, nulls_out=None, distinct=None)
    email = by_name["email"]
    assert (email.kind, email.rows, email.nulls, email.nulls_out, email.distinct) == ("pseudonymise", 3, 1, 1, 2)
    assert email.params == {"key": "pseudonymisation", "normalise": ["strip", "lower"], "prefix": "", "length": 32}
    assert by_name["card"].params == {"placeholder": "<CREDIT_CARD>"}
    assert by_name["age"].params == {"method": "bands", "width": 10.0, "edges": None}
    text = repr([a.to_dict() for a in actions])
    assert PSEUDO_KEY.hex() not in text and repr(PSEUDO_KEY) not in text
