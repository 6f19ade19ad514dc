"""Streaming protect (batches, Parquet files) and the checking of an agreement's examples."""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pactline.errors import DataError
from pactline.protect import (
    check_examples,
    count_categories,
    output_schema,
    protect_batches,
    protect_parquet,
    protect_table,
)
from tests.conftest import col, dataset, fixed_keys, token


def _dataset():
    return dataset({
        "pid": col({"kind": "pseudonymise", "normalise": ["strip", "upper"], "prefix": "p_"}),
        "email": col({"kind": "mask", "mode": "email_domain"}),
        "born": col({"kind": "generalise", "method": "date", "granularity": "quarter"}, "date"),
        "seen": col({"kind": "date_shift", "subject_column": "pid", "max_days": 20}, "timestamp"),
        "age": col({"kind": "generalise", "method": "bands", "edges": [18, 40, 65]}, "integer"),
        "zip": col({"kind": "generalise", "method": "truncate", "keep": 2}),
        "race": col({"kind": "generalise", "method": "rare_to_other", "min_count": 40}, "categorical"),
        "card": col({"kind": "encrypt"}),
        "name": col({"kind": "drop"}),
        "y": col({"kind": "keep"}, "boolean"),
    })


def _table(rows: int = 600, seed: int = 3) -> pa.Table:
    rng = random.Random(seed)
    races = ["a"] * 10 + ["b"] * 5 + ["c", "d"]

    def maybe(v):
        return None if rng.random() < 0.05 else v

    return pa.table({
        "pid": [maybe(f" id{rng.randrange(150)}") for _ in range(rows)],
        "email": [maybe(f"user{rng.randrange(999)}@example.org") for _ in range(rows)],
        "born": pa.array([maybe(dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(25000))) for _ in range(rows)],
                         pa.date32()),
        "seen": pa.array([maybe(dt.datetime(2024, 1, 1) + dt.timedelta(minutes=rng.randrange(500000)))
                          for _ in range(rows)], pa.timestamp("us")),
        "age": [maybe(rng.randrange(100)) for _ in range(rows)],
        "zip": [maybe(f"{rng.randrange(10000, 99999)}") for _ in range(rows)],
        "race": pa.array([maybe(rng.choice(races)) for _ in range(rows)]).dictionary_encode(),
        "card": [maybe(f"4111{rng.randrange(10**11):011d}") for _ in range(rows)],
        "name": [maybe("someone") for _ in range(rows)],
        "y": [rng.random() < 0.3 for _ in range(rows)],
    })


def test_streaming_equals_the_whole_table():
    table, ds, keys = _table(), _dataset(), fixed_keys()
    whole, whole_actions = protect_table(table, ds, keys=keys)
    batches = table.to_batches(max_chunksize=97)
    counts = count_categories(batches, ds)
    assert set(counts) == {"race"} and sum(counts["race"].values()) == table["race"].length() - table["race"].null_count
    actions: list = []
    streamed = pa.Table.from_batches(list(protect_batches(batches, ds, keys=keys, counts=counts, actions=actions)))
    assert streamed.equals(whole)
    # global counts decide: c and d (~35 each) are pooled, b (~175 overall, <40 per batch) is not
    assert set(whole["race"].to_pylist()) == {"a", "b", "other", None}
    assert streamed.schema == output_schema(table.schema, ds, keys=keys)
    totals = {a.name: (a.rows, a.nulls, a.nulls_out) for a in actions}
    assert totals == {a.name: (a.rows, a.nulls, a.nulls_out) for a in whole_actions}


def test_streaming_without_counts_for_rare_categories_is_refused_before_any_batch():
    with pytest.raises(DataError, match=r"\['race'\].*count_categories"):
        protect_batches(iter([]), _dataset(), keys=fixed_keys())


def test_streaming_errors_count_rows_from_the_start_of_the_stream():
    ds = dataset({"d": col({"kind": "generalise", "method": "date"})})
    batches = [pa.record_batch({"d": ["2024-01-01", "2024-01-02"]}), pa.record_batch({"d": ["2024-01-03", "soon"]})]
    out = protect_batches(batches, ds, keys=fixed_keys())
    assert next(out).column(0).to_pylist() == ["2024", "2024"]
    with pytest.raises(DataError, match="row 4 "):
        next(out)


def test_protect_parquet_streams_a_file_into_a_file(tmp_path):
    table, ds, keys = _table(), _dataset(), fixed_keys()
    src, dst = tmp_path / "in.parquet", tmp_path / "out.parquet"
    pq.write_table(table, src, row_group_size=128)
    actions = protect_parquet(src, dst, ds, keys=keys, batch_size=100)
    expected, _ = protect_table(table, ds, keys=keys)
    assert pq.read_table(dst).equals(expected)
    assert {a.name: a.rows for a in actions} == dict.fromkeys(table.column_names, 600)


def test_protect_parquet_leaves_no_partial_output(tmp_path):
    ds = dataset({"d": col({"kind": "generalise", "method": "date"})})
    src, dst = tmp_path / "in.parquet", tmp_path / "out.parquet"
    pq.write_table(pa.table({"d": ["2024-01-01"] * 300 + ["?"]}), src, row_group_size=100)
    with pytest.raises(DataError, match="row 301 "):
        protect_parquet(src, dst, ds, keys=fixed_keys(), batch_size=100)
    assert list(tmp_path.iterdir()) == [src]


# -- check_examples -------------------------------------------------------------------------------


def test_check_examples_accepts_true_examples():
    phone = col({"kind": "mask", "n": 2, "examples": [{"input": "+49 40 1234567", "output": "+** ** *****67"}]})
    born = col({"kind": "generalise", "method": "date", "examples": [{"input": "1961-07-14", "output": "1961"},
                                                                       {"input": None, "output": None}]}, "date")
    age = col({"kind": "generalise", "method": "bands", "width": 10, "examples": [{"input": 34, "output": "[30, 40)"}]},
              "integer")
    gone = col({"kind": "drop", "examples": [{"input": "x", "output": None}]})
    assert check_examples("phone", phone) == []
    assert check_examples("born", born) == []
    assert check_examples("age", age) == []
    assert check_examples("gone", gone) == []


def test_check_examples_finds_a_wrong_example():
    zip_ = col({"kind": "generalise", "method": "truncate", "keep": 2,
                "examples": [{"input": "22307", "output": "22"}, {"input": "22307", "output": "223"}]})
    problems = check_examples("postcode", zip_)
    assert problems == ["column 'postcode', example 2: generalise of '22307' gives '22', but the agreement says '223'"]
    bad_input = col({"kind": "generalise", "method": "date", "examples": [{"input": "14.07.1961", "output": "1961"}]},
                    "date")
    assert check_examples("born", bad_input) == ["column 'born', example 1: input '14.07.1961' is not a valid date value"]


def test_check_examples_of_keyed_transformations_need_the_key():
    right = token("alice@example.com", prefix="pt_")
    email = col({"kind": "pseudonymise", "normalise": ["strip", "lower"], "prefix": "pt_",
                 "examples": [{"input": " Alice@Example.com", "output": right}, {"input": "bob", "output": "pt_0"}]})
    assert check_examples("email", email) == []  # not checkable without the key: skipped
    problems = check_examples("email", email, keys=fixed_keys())
    assert len(problems) == 1 and "example 2" in problems[0]
    shift = col({"kind": "date_shift", "subject_column": "pid", "max_days": 5,
                 "examples": [{"input": "2024-01-10", "output": "2024-01-13"},
                              {"input": "2024-01-10", "output": "2024-02-10"}]}, "date")
    assert check_examples("seen", shift) == []
    problems = check_examples("seen", shift, keys=fixed_keys())
    assert len(problems) == 1 and "example 2" in problems[0] and "at most 5 days" in problems[0]


def test_check_examples_of_rare_to_other_allow_the_input_or_other():
    race = col({"kind": "generalise", "method": "rare_to_other", "examples": [
        {"input": "a", "output": "a"}, {"input": "b", "output": "other"}, {"input": "c", "output": "d"}]})
    problems = check_examples("race", race)
    assert len(problems) == 1 and "example 3" in problems[0]
