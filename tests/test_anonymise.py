"""Group-aware anonymisation (issue 14): generalisation hierarchies in the agreement, the greedy search for the least
generalisation that reaches k within max_suppressed_rate (pactline.protect.anonymise), protected groups that
suppression may neither erase nor shrink beyond the bias check's max_drift, on one file and on summed partitions;
and the readmission example, where suppression used to remove the whole `diverse` sex group."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pyarrow as pa
import pytest

from pactline.agreement import load_agreement, load_text
from pactline.agreement.hierarchy import GeneraliseAny
from pactline.agreement.transformations import GeneraliseDate, GeneraliseNumber, GeneralisePostcode
from pactline.errors import AgreementError, PolicyViolation
from pactline.protect.anonymise import anonymise
from pactline.protect.generalise import bands, date_period, truncate
from pactline.protect.hierarchy import climb, generalise_columns
from pactline.protect.suppression import ClassCounts, suppress_small_classes
from tests.conftest import col

# -- levels: climbing from level 0's labels gives what generalising the raw values at that level gives ----------


def test_climbing_a_date_hierarchy_equals_generalising_the_raw_dates():
    days = pa.array([dt.date(1930, 1, 1) + dt.timedelta(days=37 * i) for i in range(800)] + [None], pa.date32())
    levels = [GeneraliseDate(granularity=g) for g in ("quarter", "year", "decade")]
    labels = date_period(days, "month")
    for i, level in enumerate(levels):
        assert climb(labels, levels[: i + 1]).to_pylist() == date_period(days, level.granularity).to_pylist()


def test_climbing_bands_equals_banding_the_raw_numbers():
    x = pa.array([-7.5, -0.1, 0, 4.99, 5, 17, 29.9, 30, 64, 65, 99.5, None])
    assert climb(bands(x, GeneraliseNumber(width=5)), [GeneraliseNumber(width=10), GeneraliseNumber(width=20)]) \
        .to_pylist() == bands(x, GeneraliseNumber(width=20)).to_pylist()
    assert climb(bands(x, GeneraliseNumber(width=5)), [GeneraliseNumber(edges=[0, 30, 65])]).to_pylist() == \
        bands(x, GeneraliseNumber(edges=[0, 30, 65])).to_pylist()
    fine = GeneraliseNumber(edges=[0, 18, 30, 65, 80])
    assert climb(bands(x, fine), [GeneraliseNumber(edges=[18, 65])]).to_pylist() == \
        bands(x, GeneraliseNumber(edges=[18, 65])).to_pylist()


def test_climbing_truncation_and_the_top_level():
    codes = pa.array(["22307", " 20095 ", "1067", None])
    assert climb(truncate(codes, 5), [GeneralisePostcode(keep=3)]).to_pylist() == truncate(codes, 3).to_pylist()
    # the top of a hierarchy: everyone alike, the missing ones too (a null would single them out)
    assert climb(truncate(codes, 5), [GeneralisePostcode(keep=1), GeneraliseAny()]).to_pylist() == ["*"] * 4
    batch = pa.record_batch({"postcode": truncate(codes, 5), "other": [1, 2, 3, 4]})
    out = generalise_columns(batch, {"postcode": [{"kind": "generalise", "method": "truncate", "keep": 2}]})
    assert out["postcode"].to_pylist() == ["22", "20", "10", None] and out["other"].to_pylist() == [1, 2, 3, 4]


# -- the agreement: a hierarchy nests in the level below, or it is refused saying why ---------------------------


@pytest.mark.parametrize(("transformation", "hierarchy", "error"), [
    ({"kind": "generalise", "method": "bands", "width": 5}, [{"method": "bands", "width": 10},
                                                             {"method": "bands", "width": 20}, {"method": "any"}], None),
    ({"kind": "generalise", "method": "bands", "width": 5}, [{"method": "bands", "edges": [0, 20, 65]}], None),
    ({"kind": "generalise", "method": "bands", "edges": [0, 18, 65]}, [{"method": "bands", "edges": [18, 65]}], None),
    ({"kind": "generalise", "method": "date", "granularity": "month"},
     [{"method": "date", "granularity": "year"}, {"method": "date", "granularity": "decade"}], None),
    ({"kind": "generalise", "method": "truncate", "keep": 5}, [{"method": "truncate", "keep": 3}], None),
    ({"kind": "generalise", "method": "bands", "width": 10}, [{"method": "bands", "width": 15}], "not a larger multiple"),
    ({"kind": "generalise", "method": "bands", "width": 10}, [{"method": "bands", "edges": [0, 15]}],
     "not all multiples"),
    ({"kind": "generalise", "method": "bands", "edges": [0, 18, 65]}, [{"method": "bands", "width": 20}],
     "cannot follow explicit edges"),
    ({"kind": "generalise", "method": "bands", "edges": [0, 18, 65]}, [{"method": "bands", "edges": [0, 20]}],
     "not a strict subset"),
    ({"kind": "generalise", "method": "date", "granularity": "year"}, [{"method": "date", "granularity": "month"}],
     "not coarser than year"),
    ({"kind": "generalise", "method": "truncate", "keep": 3}, [{"method": "truncate", "keep": 3}],
     "not fewer than 3"),
    ({"kind": "generalise", "method": "truncate", "keep": 3}, [{"method": "any"}, {"method": "truncate", "keep": 1}],
     "has to be the last"),
    ({"kind": "generalise", "method": "truncate", "keep": 3}, [{"method": "date", "granularity": "year"}],
     "cannot follow a truncate level"),
    ({"kind": "keep"}, [{"method": "any"}], "refines the column's own generalisation"),
    ({"kind": "generalise", "method": "rare_to_other"}, [{"method": "any"}], "refines the column's own"),
])
def test_hierarchy_levels_nest_or_are_refused(transformation, hierarchy, error):
    if error is None:
        assert len(col(transformation, hierarchy=hierarchy).hierarchy) == len(hierarchy)
    else:
        with pytest.raises(ValueError, match=re.escape(error)):
            col(transformation, hierarchy=hierarchy)


def test_no_hierarchy_keeps_the_fingerprint_and_the_agreement_checks_where_one_applies(example_text):
    assert "hierarchy" not in col({"kind": "keep"}).model_dump()  # unset: fingerprints of old agreements hold
    text = example_text("readmission")
    assert "hierarchy: [{method: any}]" in text

    def problems(new_text: str) -> str:
        with pytest.raises(AgreementError) as e:
            load_text(new_text)
        return str(e.value)

    # a hierarchy on a column that is no quasi-identifier of k-anonymity would never be climbed
    assert "is not one of privacy.k_anonymity.quasi_identifiers" in problems(
        text.replace("[birth_date, postcode, sex]", "[postcode, sex]"))
    assert "set privacy.k_anonymity.suppress to true" in problems(
        text.replace("max_suppressed_rate: 0.1}", "max_suppressed_rate: 0.1, suppress: false}"))
    # generalising a protected attribute would merge the groups the bias check compares
    assert "is a protected attribute of a bias check" in problems(
        text.replace("protected_attributes: [sex]", "protected_attributes: [sex, postcode]"))
    assert "measured over the quasi-identifiers of privacy.k_anonymity" in problems(
        text.replace("  k_anonymity: {k: 5, quasi_identifiers: [birth_date, postcode, sex], max_suppressed_rate: 0.1}\n",
                     "").replace("hierarchy: [{method: any}]", "description: no hierarchy"))


# -- the search ----------------------------------------------------------------------------------------------


def suppressed_by(frame: pd.DataFrame, qis: list[str], k: int) -> pd.Series:
    """Independently of Pactline: which rows suppression at these labels removes (class smaller than k)."""
    return frame.groupby(qis, dropna=False)[qis[0]].transform("size") < k


def diabetes_release() -> tuple[pd.DataFrame, dict]:
    """Efron et al.'s diabetes patients (scikit-learn's copy) at level 0: age in 5-year bands, BMI in bands of 2;
    and their hierarchies: age 5 -> 10 -> 20 years -> any, BMI 2 -> 4 -> 8 -> any."""
    from sklearn.datasets import load_diabetes

    d = load_diabetes(as_frame=True, scaled=False).frame
    frame = pd.DataFrame({"age": bands(pa.array(d["age"]), GeneraliseNumber(width=5)).to_pylist(),
                          "sex": d["sex"].astype(int).astype(str),
                          "bmi": bands(pa.array(d["bmi"]), GeneraliseNumber(width=2)).to_pylist()})
    hierarchies = {"age": [{"method": "bands", "width": 10}, {"method": "bands", "width": 20}, {"method": "any"}],
                   "bmi": [{"method": "bands", "width": 4}, {"method": "bands", "width": 8}, {"method": "any"}]}
    return frame, hierarchies


def counts_of(frame: pd.DataFrame, columns: list[str], parts: int = 1) -> ClassCounts:
    total = ClassCounts(columns)
    size = -(-len(frame) // parts)
    for i in range(parts):
        piece = ClassCounts(columns)
        piece.add(pa.Table.from_pandas(frame.iloc[i * size:(i + 1) * size], preserve_index=False))
        total.merge(piece)
    return total


def at(frame: pd.DataFrame, hierarchies: dict, levels: dict[str, int]) -> pd.DataFrame:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return generalise_columns(table, {q: hierarchies[q][:n] for q, n in levels.items() if n}).to_pandas()


def test_greedy_search_finds_a_node_minimal_along_its_path_on_a_public_table():
    frame, hierarchies = diabetes_release()
    qis, k, max_rate = ["age", "sex", "bmi"], 5, 0.05
    assert suppressed_by(frame, qis, k).mean() > max_rate  # level 0 does not reach k within the rate
    found = anonymise(counts_of(frame, qis), qis, k, max_suppressed_rate=max_rate, hierarchies=hierarchies)
    assert found.ok and found.levels["sex"] == 0 and any(found.levels.values())
    released = at(frame, hierarchies, found.levels)
    gone = suppressed_by(released, qis, k)
    # what the search says it suppresses is what an independent count at those labels suppresses
    assert found.report.suppressed == int(gone.sum()) and gone.mean() <= max_rate
    kept = released[~gone]
    assert kept.groupby(qis).size().min() == found.min_class_size >= k
    # one level less of any quasi-identifier it climbed is over the rate: minimal along its path
    for q, n in found.levels.items():
        if n:
            lower = at(frame, hierarchies, {**found.levels, q: n - 1})
            assert suppressed_by(lower, qis, k).mean() > max_rate, q
    # summed over three partitions the search sees the same counts and chooses the same node
    parts = anonymise(counts_of(frame, qis, parts=3), qis, k, max_suppressed_rate=max_rate, hierarchies=hierarchies)
    assert (parts.levels, parts.small, parts.kept_sizes) == (found.levels, found.small, found.kept_sizes)
    # what the release applies: exactly the levels climbed, in order
    assert {q: [(x["method"], x.get("width")) for x in v] for q, v in found.applied().items()} == {
        q: [(x["method"], x.get("width")) for x in hierarchies[q][:n]] for q, n in found.levels.items() if n}


def test_nothing_climbs_when_level_zero_already_reaches_k():
    frame, hierarchies = diabetes_release()
    found = anonymise(counts_of(frame, ["sex"]), ["sex"], 5, max_suppressed_rate=0.0, hierarchies=hierarchies)
    assert found.ok and found.levels == {"sex": 0} and found.nodes_tried == 1 and not found.small


def group_table(minority_ages: list[int], majority: int = 40) -> pa.Table:
    """Two large sex groups in a few age bands, and a small group 'x' whose rows sit in `minority_ages` bands."""
    ages = [f"[{10 * (i % 4)}, {10 * (i % 4) + 10})" for i in range(2 * majority)]
    sexes = ["f", "m"] * majority
    ages += [f"[{a}, {a + 10})" for a in minority_ages]
    sexes += ["x"] * len(minority_ages)
    return pa.table({"age": ages, "sex": sexes, "race": ["a"] * (2 * majority) + ["r"] * len(minority_ages)})


ANY = {"age": [{"method": "any"}]}


def test_suppression_never_erases_a_protected_group():
    table = group_table([0, 10, 50, 60])  # four 'x' rows, each alone in its class: k=3 would remove them all
    counts = counts_of(table.to_pandas(), ["age", "sex"])
    # without a hierarchy: the rate is within the agreement, but the whole group would go, so the run stops
    found = anonymise(counts, ["age", "sex"], 3, max_suppressed_rate=0.1, protected_groups={"sex": 0.05})
    assert found.rate.success and not found.ok
    with pytest.raises(PolicyViolation) as e:
        found.require("people")
    assert e.value.clause == "bias_checks.protected_attributes"
    assert "remove every row of 1 sex group" in str(e.value) and "hierarchy" in str(e.value)
    assert "'x'" not in str(e.value)  # a group's name is partner data: counted, never named
    # counts only in what the ledger gets: how many groups vanished, never which
    summary = found.to_dict()["protected_groups"]
    assert summary == [{"attribute": "sex", "max_drift": 0.05, "groups": 3, "vanished": 1, "shrunk": 0,
                        "largest_share_lost": pytest.approx(4 / 84)}]
    assert "'x'" not in str(found.to_dict())
    # what suppression did before issue 14: the group silently gone
    out, _ = suppress_small_classes(table, ["age", "sex"], 3)
    assert "x" not in out["sex"].to_pylist()
    # with a hierarchy the search generalises age until the group shares a class of k
    found = anonymise(counts, ["age", "sex"], 3, max_suppressed_rate=0.1, hierarchies=ANY,
                      protected_groups={"sex": 0.05})
    assert found.ok and found.levels == {"age": 1, "sex": 0} and found.report.suppressed == 0
    found.require("people")


def test_a_protected_attribute_outside_the_quasi_identifiers_is_kept_too():
    """race is no quasi-identifier: the class counts carry it beside them, so the search sees its groups."""
    table = group_table([0, 10, 50, 60])
    counts = counts_of(table.to_pandas(), ["age", "sex", "race"])
    found = anonymise(counts, ["age", "sex"], 3, max_suppressed_rate=0.1, protected_groups={"race": 0.05})
    with pytest.raises(PolicyViolation, match=r"remove every row of 1 race group"):
        found.require("people")
    # the class keys suppression removes are over the quasi-identifiers only (what kept_rows compares)
    assert all(key.count("\u001f") == 1 for key in found.small)


@pytest.mark.parametrize(("max_drift", "stops"), [(0.05, True), (0.1, False)])
def test_a_protected_group_shrinks_by_at_most_max_drift(max_drift, stops):
    # ten 'x' rows: two share a class of k=2, eight are alone: suppression keeps 2 of 10 (share 10/90 -> 2/82)
    table = group_table([0, 0, 10, 20, 30, 40, 50, 60, 70, 80])
    counts = counts_of(table.to_pandas(), ["age", "sex"])
    found = anonymise(counts, ["age", "sex"], 2, max_suppressed_rate=0.5, protected_groups={"sex": max_drift})
    lost = 10 / 90 - 2 / 82
    assert found.groups[0].verdict.observed == pytest.approx(lost)
    if stops:
        with pytest.raises(PolicyViolation, match=r"shrink the share of 1 sex group by up to 8\.7%") as e:
            found.require("people")
        assert e.value.clause == "bias_checks.max_drift"
    else:
        found.require("people")


def test_over_the_rate_at_the_top_of_every_hierarchy_stops_naming_the_levels():
    frame, hierarchies = diabetes_release()
    qis = ["age", "sex", "bmi"]
    found = anonymise(counts_of(frame, qis), qis, 500, max_suppressed_rate=0.05, hierarchies=hierarchies)
    assert not found.ok and found.levels == {"age": 3, "sex": 0, "bmi": 3}
    with pytest.raises(PolicyViolation, match=r"even at age level 3 of 3, bmi level 3 of 3") as e:
        found.require("diabetes")
    assert e.value.clause == "privacy.k_anonymity.max_suppressed_rate"


def test_every_broken_condition_is_said_at_once():
    table = group_table([0, 10, 50, 60])
    found = anonymise(counts_of(table.to_pandas(), ["age", "sex"]), ["age", "sex"], 3, max_suppressed_rate=0.01,
                      protected_groups={"sex": 0.05})
    with pytest.raises(PolicyViolation) as e:
        found.require("people")
    assert e.value.clause == "privacy.k_anonymity.max_suppressed_rate"  # the first broken clause
    assert "[privacy.k_anonymity.max_suppressed_rate]; and remove every row of 1 sex group" in str(e.value)


# -- the steps: one file and partitions decide alike; the readmission regression ------------------------------


@pytest.fixture
def readmission_ctx(workspace, tmp_path):
    from pactline.keys import KeyStore
    from pactline.pipeline.context import RunContext
    from pactline.store import DataRoot

    def make(path=None):
        events: list = []
        ctx = RunContext(loaded=load_agreement(path or workspace / "agreements" / "readmission.yaml"),
                         run_id="manual__anonymise", as_of=dt.date(2027, 1, 1), root=DataRoot(str(tmp_path / "root")),
                         keystore=KeyStore(tmp_path / "keys"), recorder=lambda e, p: events.append((e, p)))
        ctx.events = events
        return ctx
    return make


def admissions(workspace, ctx) -> tuple[pa.Table, pa.Table]:
    """The generated admissions (raw, with the agreement's column names) and the quasi-identifiers, sex and label as
    protect releases them, by the agreement's own transformations."""
    from pactline.protect import protect_table
    from tests.conftest import fixed_keys

    df = pd.read_csv(workspace / "data" / "readmission" / "admissions.csv", dtype=str)
    raw = pa.table({"birth_date": pa.array(pd.to_datetime(df["Geburtsdatum"]).dt.date, pa.date32()),
                    "postcode": df["PLZ"], "sex": df["Geschlecht"],
                    "readmitted_30d": df["Wiederaufnahme30"].map({"True": True, "False": False})})
    ds = ctx.agreement.dataset("admissions")
    subset = ds.model_copy(update={"columns": {c: ds.columns[c] for c in raw.column_names}})
    protected, _ = protect_table(raw, subset, keys=fixed_keys())
    return raw, protected


def test_readmission_diverse_group_survives_and_both_paths_agree(workspace, readmission_ctx):
    from pactline.checks import check_bias
    from pactline.pipeline.k_classes import k_classes
    from pactline.plan import build_plan

    ctx = readmission_ctx()
    raw, protected = admissions(workspace, ctx)
    assert raw["sex"].to_pylist().count("diverse") == 9
    params = build_plan(ctx.loaded).dataset("admissions").step("suppress").params
    rel = ctx.staging("admissions", "protected.parquet")
    ctx.root.write_table(rel, protected)
    from pactline.pipeline.suppress import suppress

    result = suppress(ctx, "admissions", rel, **params)
    released = ctx.root.read_table(result["staging"])
    # the group survives: birth decade generalised away (the only level that keeps it), postcode digit kept
    assert result["levels"] == {"birth_date": 1, "postcode": 0, "sex": 0}
    assert set(released["birth_date"].to_pylist()) == {"*"} and released["sex"].to_pylist().count("diverse") >= 5
    frame = released.to_pandas()
    assert frame.groupby(["birth_date", "postcode", "sex"]).size().min() >= 5
    # the bias gate on the release passes representation with every raw group present
    bias = check_bias(raw, released, ctx.loaded, "admissions")
    share = next(o for o in bias.results if o.expectation == "expect_group_shares_to_be_at_least")
    assert share.success and share.details["vanished"] == []
    # three partitions' class counts summed: k_classes chooses the same levels and suppresses the same rows
    params_k = build_plan(ctx.loaded).dataset("admissions").step("suppress").params
    parts = []
    for i, piece in enumerate((protected.slice(0, 100), protected.slice(100, 100), protected.slice(200))):
        counts = ClassCounts(["birth_date", "postcode", "sex"])
        counts.add(piece)
        path = ctx.staging("admissions", f"aggregates/classes-part-{i:05d}.parquet")
        ctx.root.write_table(path, counts.to_table())
        parts.append({"classes": path, "class_columns": counts.qis})
    partitioned = k_classes(ctx, "admissions", parts, suppress=True, **params_k)
    for key in ("levels", "generalised", "suppressed", "kept_class_sizes", "min_class_size"):
        assert partitioned[key] == result[key], key


def test_readmission_without_a_hierarchy_stops_naming_the_group(workspace, readmission_ctx):
    from tests.conftest import amend

    path = workspace / "agreements" / "readmission.yaml"
    amend(path, path.read_text().replace("        hierarchy: [{method: any}]\n", ""))
    ctx = readmission_ctx(path)
    _, protected = admissions(workspace, ctx)
    rel = ctx.staging("admissions", "protected.parquet")
    ctx.root.write_table(rel, protected)
    from pactline.pipeline.suppress import suppress
    from pactline.plan import build_plan

    params = build_plan(ctx.loaded).dataset("admissions").step("suppress").params
    assert "hierarchies" not in params
    with pytest.raises(PolicyViolation, match=r"remove every row of 1 sex group \(a protected group never vanishes"):
        suppress(ctx, "admissions", rel, **params)
    # the ledger entry before the stop counts the vanished group; it does not name it
    (event,) = [p for e, p in ctx.events if e == "rows.suppressed"]
    assert event["protected_groups"][0]["vanished"] == 1 and "diverse" not in str(event)
    assert not ctx.root.exists(ctx.staging("admissions", "suppressed.parquet"))


def test_representation_gate_fails_by_name_when_a_raw_group_vanished(workspace, readmission_ctx):
    """The release suppression made before issue 14 (the diverse group removed): both the GX gate and the
    partitioned outcome fail, naming the group, whatever min_group_share says."""
    from pactline.checks import check_bias
    from pactline.checks.outcomes import bias_outcomes
    from pactline.partition import GroupCounts

    ctx = readmission_ctx()
    raw, protected = admissions(workspace, ctx)
    old_release, _ = suppress_small_classes(protected, ["birth_date", "postcode", "sex"], 5)
    assert "diverse" not in old_release["sex"].to_pylist()
    bias = check_bias(raw, old_release, ctx.loaded, "admissions")
    share = next(o for o in bias.results if o.expectation == "expect_group_shares_to_be_at_least")
    assert not share.success and share.observed == 0.0
    assert share.details["vanished"] == ["diverse"] and "diverse" in share.details["below"]
    check = ctx.agreement.bias_checks[0]
    counts = []
    for table in (raw, old_release):
        g = GroupCounts("sex", check.label, check.positive)
        g.add(table)
        counts.append(g.metrics(check.min_group_size))
    partitioned = bias_outcomes(check, "sex", counts[0], counts[1], "bias_checks[0]")[0]
    assert (partitioned.success, partitioned.observed, partitioned.details["vanished"]) == (False, 0.0, ["diverse"])
    # with min_group_share 0 a vanished group still fails: a share of 0 is no pass for a group that was there
    zero = check.model_copy(update={"min_group_share": 0.0})
    assert not bias_outcomes(zero, "sex", counts[0], counts[1], "bias_checks[0]")[0].success
