"""Partitioned input: discovery, combining aggregates, and a partitioned DAG (dynamic task mapping)
that releases exactly what the one-file pipeline releases for the same rows."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pactline.agreement import load_agreement
from pactline.agreement.model import Source
from pactline.checks.metrics import group_metrics
from pactline.partition import ClassCounts, GroupCounts, SensitiveValues, list_partitions, open_partition, sum_counts
from pactline.partition.aggregate import kept_rows
from pactline.plan import build_plan
from pactline.protect.suppression import suppress_small_classes
from pactline.sources import SourceRoot
from pactline.store import DataRoot
from tests.conftest import PSEUDONYM_KEY, amend, partition_steps, partitioned_fraud, read_release, split_csv


def root_at(folder: Path) -> SourceRoot:
    return SourceRoot("provider", str(folder), "test")


# -- discovery ---------------------------------------------------------------------------------


def test_glob_folder_and_row_group_partitions(tmp_path):
    for i in range(3):
        (tmp_path / "in").mkdir(exist_ok=True)
        (tmp_path / "in" / f"p{i}.csv").write_text("a,b\n1,2\n")
    (tmp_path / "in" / "_SUCCESS.csv").write_text("")
    (tmp_path / "in" / "notes.txt.bak").write_text("x")
    glob = list_partitions(Source(uri="in/*.csv"), tmp_path, root_at(tmp_path))
    assert [p.name for p in glob] == ["p0.csv", "p1.csv", "p2.csv"] and [p.index for p in glob] == [0, 1, 2]
    folder = list_partitions(Source(uri="in/"), tmp_path, root_at(tmp_path))
    assert [p.name for p in folder] == ["p0.csv", "p1.csv", "p2.csv"]
    assert all(Path(p.uri).is_absolute() for p in folder)

    table = pa.table({"x": list(range(1000))})
    pq.write_table(table, tmp_path / "big.parquet", row_group_size=100)
    parts = list_partitions(Source(uri="big.parquet", format="parquet", partition_rows=250), tmp_path, root_at(tmp_path))
    assert [p.rows for p in parts] == [300, 300, 300, 100]
    assert parts[0].name == "big.parquet#rg=0-2" and parts[-1].row_groups == (9,)
    rebuilt = []
    for p in parts:
        with open_partition(p, root_at(tmp_path)) as fh:
            rebuilt.append(pq.read_table(fh))
    assert pa.concat_tables(rebuilt).equals(table)
    with open_partition(parts[1], root_at(tmp_path)) as a, open_partition(parts[1], root_at(tmp_path)) as b:
        assert a.read() == b.read()  # a slice's landing copy is the same bytes every time: content-addressed


def test_source_partitioning_is_declared_and_old_fingerprints_hold(example_text):
    assert not Source(uri="a.csv").partitioned and Source(uri="d/").partitioned
    assert Source(uri="d/*.parquet", format="parquet").partitioned
    assert Source(uri="a.parquet", format="parquet", partition_rows=10).partitioned
    with pytest.raises(ValueError, match="single CSV"):
        Source(uri="a.csv", partition_rows=10)
    assert "partition_rows" not in Source(uri="a.csv").model_dump()  # unset: fingerprints unchanged


def test_missing_folder_is_a_data_error(tmp_path):
    from pactline.errors import DataError

    with pytest.raises(DataError, match="holds no csv file"):
        list_partitions(Source(uri="nothing/*.csv"), tmp_path, root_at(tmp_path))


# -- aggregates --------------------------------------------------------------------------------


def test_summed_aggregates_equal_whole_dataset_numbers():
    import random

    rng = random.Random(3)
    rows = 3000
    table = pa.table({
        "age": [rng.choice(["[20, 30)", "[30, 40)", "[90, 100)", None]) for _ in range(rows)],
        "gender": [rng.choice(["f", "m", "x", None, ""]) for _ in range(rows)],
        "label": [rng.choice([True, False, None]) if i % 7 else (i % 3 == 0) for i in range(rows)],
    })
    table = table.append_column("rare", pa.array([f"v{rng.randint(0, 400)}" for _ in range(rows)]))
    batches = table.to_batches(max_chunksize=700)
    assert len(batches) > 3

    # bias: group counts summed over partitions give group_metrics of the whole table
    summed = GroupCounts("gender", "label", True)
    for b in batches:
        part = GroupCounts("gender", "label", True)
        part.add(b)
        summed.merge(GroupCounts.from_dict(json.loads(json.dumps(part.to_dict()))))
    whole = group_metrics(table, "gender", "label", True, min_group_size=20)
    got = summed.metrics(min_group_size=20)
    assert got.rows == whole.rows and got.small_groups == whole.small_groups
    assert got.disparate_impact == pytest.approx(whole.disparate_impact)
    assert got.parity_difference == pytest.approx(whole.parity_difference)
    for g, s in whole.groups.items():
        assert (got.groups[g].count, got.groups[g].labelled, got.groups[g].positives) == (s.count, s.labelled,
                                                                                         s.positives)

    # k-anonymity: class sizes summed, then suppression per partition, keeps what whole-table suppression keeps
    qis = ["age", "gender"]
    total = ClassCounts(qis)
    for b in batches:
        part = ClassCounts(qis)
        part.add(b)
        total.merge(ClassCounts.from_table(qis, part.to_table()))
    kept = pa.Table.from_batches([b.filter(kept_rows(b, qis, total.small(400))) for b in batches])
    expected, report = suppress_small_classes(table, qis, 400)
    assert kept.equals(expected) and report.classes == len(total.sizes)
    assert report.classes_below_k == len(total.small(400))

    # l-diversity: distinct sensitive values per class, at most l kept per partition, united
    from expectations.privacy import equivalence_classes

    diag = pa.array([rng.choice(["flu", "asthma", "copd", None]) for _ in range(rows)])
    with_diag = table.append_column("diagnosis", diag)
    for lv in (2, 3, 4):
        united = SensitiveValues(qis, "diagnosis", lv)
        for b in with_diag.to_batches(max_chunksize=700):
            part = SensitiveValues(qis, "diagnosis", lv)
            part.add(b)
            assert all(len(v) <= lv for v in part.values.values())
            united.merge(SensitiveValues.from_table(qis, "diagnosis", lv, part.to_table()))
        whole = equivalence_classes(with_diag.to_pandas(), qis, sensitive_column="diagnosis", l=lv)
        got = united.summary()
        assert got["classes"] == whole["classes"] and got["classes_below_l"] == whole["classes_below_l"]
        assert got["min_distinct"] == min(whole["min_distinct"], lv)
    assert whole["classes_below_l"] > 0  # l=4 fails somewhere: the comparison is not vacuous
    # a class whose sensitive values are all null has none; a single row reaches no l
    lonely = SensitiveValues(["age"], "diagnosis", 2)
    lonely.add(pa.table({"age": ["[20, 30)", "[20, 30)", "[50, 60)"], "diagnosis": [None, None, "flu"]}))
    assert lonely.below() == {"[20, 30)": 0, "[50, 60)": 1}
    summary = lonely.summary()  # counts only: which classes they are (their age bands) stays out
    assert summary["distinct_below_l"] == {"0": 1, "1": 1} and "[20, 30)" not in str(summary)

    # category counts for rare_to_other
    counts = sum_counts([{"rare": pd.Series(b["rare"].to_pylist()).value_counts().to_dict()} for b in batches])
    assert counts["rare"] == pd.Series(table["rare"].to_pylist()).value_counts().to_dict()


@pytest.mark.parametrize("buckets", [1, 3, 8])
def test_uniqueness_over_buckets_counts_what_gx_counts_on_the_whole_column(tmp_path, buckets):
    """Duplicates within and across partitions, nulls ignored, the same count as GX's unique expectation."""
    import random

    from pactline.partition.uniqueness import count_duplicates, write_buckets

    rng = random.Random(buckets)
    root = DataRoot(str(tmp_path / "root"))
    for kind, make in (("string", lambda: f"tx{rng.randint(0, 2500)}"), ("int64", lambda: rng.randint(0, 2500)),
                       ("dictionary", lambda: f"c{rng.randint(0, 40)}")):
        values = [make() if rng.random() > 0.05 else None for _ in range(2000)]
        column = pa.array(values)
        if kind == "dictionary":
            column = column.dictionary_encode()
        parts = []
        for i, start in enumerate(range(0, len(values), 450)):  # five partitions, the last a short one
            rel = f"u/{kind}-{i}.parquet"
            chunk = column.slice(start, 450)
            with root.parquet_writer(rel, pa.schema([("value", chunk.type)])) as w:
                parts.append({"path": rel, "buckets": write_buckets(w, chunk, buckets)})
        found = count_duplicates(root, "c", parts, buckets)
        series = pd.Series([v for v in values if v is not None])
        assert found.rows == len(series)
        assert found.duplicated_rows == int(series.duplicated(keep=False).sum()) > 0
        assert found.duplicated_values == int((series.value_counts() > 1).sum())
    unique = pa.array([f"id{i}" for i in range(300)])
    with root.parquet_writer("u/unique.parquet", pa.schema([("value", pa.string())])) as w:
        groups = write_buckets(w, unique, buckets)
    assert len(groups) == min(buckets, 300) and groups == sorted(groups)  # one row group per non-empty bucket
    found = count_duplicates(root, "c", [{"path": "u/unique.parquet", "buckets": groups}], buckets)
    assert (found.rows, found.duplicated_rows, found.duplicated_values) == (300, 0, 0)


# -- the plan ----------------------------------------------------------------------------------


def test_plan_maps_per_partition_steps_and_reduces(workspace):
    path = partitioned_fraud(workspace / "agreements", "../data/fraud/transactions_parts/*.csv")
    plan = build_plan(load_agreement(path))
    tx, orders = plan.dataset("transactions"), plan.dataset("orders")
    assert tx.partitioned and not orders.partitioned
    mapped = [s.task_id for s in tx.steps if s.params.get("mapped")]
    assert mapped == ["ingest", "map_schema", "scan_pii", "check_quality", "protect", "release"]
    assert [s.task_id for s in tx.steps if not s.params.get("mapped")] == [
        "list_partitions", "prepare", "k_classes", "combine", "publish_transactions-release"]
    assert tx.step("k_classes").params == {"quasi_identifiers": ["age", "gender"], "k": 2, "suppress": True,
                                           "max_suppressed_rate": 0.05, "protected_groups": {"gender": 0.2}}
    assert not any(s.params.get("mapped") for s in orders.steps)  # the one-file path is unchanged
    from pactline.plan import render_text

    assert "transactions.protect [one per partition] after prepare" in render_text(plan)


def test_partitioned_synthetic_output_trains_on_a_sample_after_combine(workspace):
    from pactline.plan import SYNTHETIC_TRAINING_ROWS

    path = partitioned_fraud(workspace / "agreements", "../data/fraud/parts/*.csv", synthetic=True)
    tx = build_plan(load_agreement(path)).dataset("transactions")
    steps = {s.task_id: s for s in tx.steps}
    synth = steps["synthesize_transactions-synthetic"]
    assert synth.upstream == ("combine",) and not synth.params.get("mapped")
    assert synth.params["training_rows"] == SYNTHETIC_TRAINING_ROWS and synth.params["seed"] == 42
    assert steps["check_synthetic_transactions-synthetic"].params["bias"]
    assert steps["publish_transactions-synthetic"].upstream == ("check_synthetic_transactions-synthetic",)
    from pactline.plan import render_text

    assert "synthesize_transactions-synthetic [trained on a sample of at most 50,000 rows] after combine" in (
        render_text(build_plan(load_agreement(path))))


def test_sample_of_partitions_is_proportional_seeded_and_bounded(tmp_path):
    from pactline.partition.sample import sample_parts, shares

    assert shares([10, 20, 30], 100) == [10, 20, 30]  # no larger than the sample: whole
    assert shares([100, 200, 301], 60) == [10, 20, 30] and sum(shares([7, 7, 7], 10)) == 10
    root = DataRoot(str(tmp_path / "root"))
    parts = []
    for i, n in enumerate([500, 1500, 1000]):
        start = sum(n for _, n in parts)
        root.write_table(f"p/{i}.parquet", pa.table({"id": pa.array(range(start, start + n), pa.int64())}))
        parts.append((f"p/{i}.parquet", n))
    sample = sample_parts(root, parts, 300, seed=7)
    ids = sample["id"].to_pylist()
    assert len(ids) == len(set(ids)) == 300 and ids == sorted(ids)  # without replacement, in partition order
    assert [sum(lo <= x < hi for x in ids) for lo, hi in ((0, 500), (500, 2000), (2000, 3000))] == [50, 150, 100]
    assert sample.equals(sample_parts(root, parts, 300, seed=7))  # a re-run draws the same rows
    assert not sample.equals(sample_parts(root, parts, 300, seed=8))
    assert sample_parts(root, parts, 5000, seed=7)["id"].to_pylist() == list(range(3000))  # small: whole, in order


# -- the steps in one process -------------------------------------------------------------------


def run_partitioned_steps(ctx, ds: str):
    """The partitioned steps in order, in this process: the released parts and the combined result."""
    _, _, released, combine = partition_steps(ctx, ds)
    return released, combine()


@pytest.mark.parametrize("l_value", [2, 9])
def test_l_diversity_over_partitions_matches_the_whole_release(workspace, tmp_path, monkeypatch, l_value):
    """l-diversity is combined from per-partition aggregates: the gate sees what GX sees on all released rows."""
    import datetime as dt

    from expectations.privacy import equivalence_classes
    from pactline.checks import CheckFailed
    from pactline.keys import KeyStore
    from pactline.pipeline.context import RunContext

    monkeypatch.setenv("PACTLINE_SECRET_FRAUD_DETECTION__FRAUD_PSEUDONYM_KEY", PSEUDONYM_KEY)
    data = workspace / "data" / "fraud"
    split_csv(data / "transactions.csv", data / "transactions_parts", 3)
    path = partitioned_fraud(workspace / "agreements", "../data/fraud/transactions_parts/*.csv")
    text = path.read_text().replace(
        "  k_anonymity: {k: 2, quasi_identifiers: [age, gender]}\n",
        "  k_anonymity: {k: 2, quasi_identifiers: [age, gender]}\n"
        f"  l_diversity: {{l: {l_value}, sensitive_column: merchant_category}}\n")
    amend(path, text)
    build_plan(load_agreement(path))  # planned, no longer refused
    events: list = []
    root = DataRoot(str(tmp_path / "root"))
    ctx = RunContext(loaded=load_agreement(path), run_id="manual__ldiv", as_of=dt.date(2027, 1, 1), root=root,
                     keystore=KeyStore(), recorder=lambda e, payload: events.append((e, payload)))
    try:
        _, combined = run_partitioned_steps(ctx, "transactions")
        result = None
    except CheckFailed as e:
        combined, result = None, e.result
    parts = sorted(root.ls(ctx.staging("transactions", "released")))
    whole = pa.concat_tables([root.read_table(ctx.staging("transactions", f"released/{n}")) for n in parts])
    expected = equivalence_classes(whole.to_pandas(), ["age", "gender"], sensitive_column="merchant_category",
                                   l=l_value)
    assert len(parts) == 3 and whole.num_rows > 0
    passed = expected["min_distinct"] >= l_value
    assert passed == (l_value == 2)  # the sample data: 2 passes, 9 (more than its categories) fails
    if passed:
        assert combined["check_privacy"]["passed"]
        outcomes = root.read_json(combined["check_privacy"]["summary_json"])["checks"]["privacy"]["results"]
    else:
        outcomes = result.to_dict()["results"]
        assert [e for e, p in events if e == "incident.opened" and p["kind"] == "gate.privacy"]
    outcome = next(o for o in outcomes if o["expectation"] == "expect_sensitive_column_to_be_l_diverse")
    assert outcome["observed"] == min(expected["min_distinct"], l_value)
    assert outcome["success"] == passed and outcome["clause"] == "privacy.l_diversity"


def test_a_duplicate_across_partitions_fails_the_quality_gate(workspace, tmp_path, monkeypatch):
    """transaction_id is unique within each partition but one id is in two: prepare stops the run."""
    import datetime as dt

    from pactline.checks import CheckFailed
    from pactline.keys import KeyStore
    from pactline.pipeline.context import RunContext

    monkeypatch.setenv("PACTLINE_SECRET_FRAUD_DETECTION__FRAUD_PSEUDONYM_KEY", PSEUDONYM_KEY)
    data = workspace / "data" / "fraud"
    files = split_csv(data / "transactions.csv", data / "transactions_parts", 3)
    first = files[0].read_text().splitlines()
    files[2].write_text(files[2].read_text().rstrip("\n") + "\n" + first[1] + "\n")  # part 0's first row, again
    path = partitioned_fraud(workspace / "agreements", "../data/fraud/transactions_parts/*.csv")
    events: list = []
    ctx = RunContext(loaded=load_agreement(path), run_id="manual__dup", as_of=dt.date(2027, 1, 1),
                     root=DataRoot(str(tmp_path / "root")), keystore=KeyStore(),
                     recorder=lambda e, payload: events.append((e, payload)))
    with pytest.raises(CheckFailed) as failed:
        run_partitioned_steps(ctx, "transactions")
    outcome = next(o for o in failed.value.result.results if o.expectation == "expect_column_values_to_be_unique")
    assert not outcome.success and outcome.columns == ["transaction_id"]
    assert outcome.details["unexpected_count"] == 2 and outcome.details["duplicated_values"] == 1
    assert outcome.details["element_count"] == 301 and outcome.details["partitions"] == 3
    # each partition alone passed its own checks; the whole dataset did not, and the steward hears of it
    passed = [p for e, p in events if e == "check.result" and p.get("partition")]
    assert len(passed) == 3 and all(p["passed"] for p in passed)
    assert [p for e, p in events if e == "incident.opened" and p["kind"] == "gate.quality"]
    assert not [e for e, _ in events if e == "transform.applied"]  # nothing was protected, nothing released


def test_synthetic_identifiers_equal_no_real_one_in_any_partition(workspace, tmp_path, monkeypatch):
    """Trained on a sample, the synthesizer's fresh identifiers are still checked against every partition:
    a value some unsampled partition holds is redrawn."""
    import datetime as dt

    from pactline.keys import KeyStore
    from pactline.pipeline.context import RunContext
    from pactline.pipeline.synthesize import synthesize_sample

    monkeypatch.setenv("PACTLINE_SECRET_FRAUD_DETECTION__FRAUD_PSEUDONYM_KEY", PSEUDONYM_KEY)
    data = workspace / "data" / "fraud"
    split_csv(data / "transactions.csv", data / "transactions_parts", 3)
    path = partitioned_fraud(workspace / "agreements", "../data/fraud/transactions_parts/*.csv", synthetic=True)
    root = DataRoot(str(tmp_path / "root"))
    ctx = RunContext(loaded=load_agreement(path), run_id="manual__synth", as_of=dt.date(2027, 1, 1), root=root,
                     keystore=KeyStore(), recorder=lambda e, payload: None)
    _, combined = run_partitioned_steps(ctx, "transactions")
    mapped = [{"staging": ctx.staging("transactions", f"mapped/part-{i:05d}.parquet"), "rows": n, "index": i}
              for i, n in enumerate(combined["part_rows"])]  # rows only steer the sample's shares
    first = synthesize_sample(ctx, "transactions", "transactions-synthetic", mapped=mapped, combined=combined,
                              training_rows=120)
    assert first["train_rows"] + first["holdout_rows"] == 120 and first["sampled_from"] == combined["rows"]
    synthetic = root.read_table(first["staging"])
    ids = [c for c in ("transaction_id", "customer_email") if c in synthetic.column_names]
    assert ids
    # a partition the sample did not draw from holds one of the synthetic identifiers
    planted = {c: synthetic[c][0].as_py() for c in ids}
    extra = ctx.staging("transactions", "released/part-00099.parquet")
    part = root.read_table(combined["parts"][0]).slice(0, 1)
    for c, v in planted.items():
        part = part.set_column(part.schema.get_field_index(c), c, pa.array([v], part.schema.field(c).type))
    root.write_table(extra, part)
    again = synthesize_sample(ctx, "transactions", "transactions-synthetic", mapped=mapped,
                              combined={**combined, "parts": [*combined["parts"], extra],
                                        "part_rows": [*combined["part_rows"], 0]}, training_rows=120)
    redrawn = root.read_table(again["staging"])
    for c, v in planted.items():
        assert v not in redrawn[c].to_pylist(), c
    assert redrawn.num_rows == synthetic.num_rows


# -- the DAG -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_partitioned_dag_releases_what_one_file_releases(airflow_home, workspace, monkeypatch):
    from tests.conftest import run_dag

    monkeypatch.setenv("PACTLINE_SECRET_FRAUD_DETECTION__FRAUD_PSEUDONYM_KEY", PSEUDONYM_KEY)
    data = workspace / "data" / "fraud"
    split_csv(data / "transactions.csv", data / "transactions_parts", 4)
    agreements = workspace / "agreements"

    one = partitioned_fraud(agreements, None)
    loaded = load_agreement(one)
    single = run_dag(one)
    assert str(single.state).endswith("success"), single.state
    _, expected = read_release(loaded.id, "transactions-release", single.run_id)

    many = partitioned_fraud(agreements, "../data/fraud/transactions_parts/*.csv")
    loaded = load_agreement(many)
    run = run_dag(many)
    assert str(run.state).endswith("success"), run.state
    tis = [ti for ti in run.get_task_instances() if ti.task_id == "transactions.protect"]
    assert sorted(ti.map_index for ti in tis) == [0, 1, 2, 3]  # one mapped task per partition
    manifest, table = read_release(loaded.id, "transactions-release", run.run_id)

    # the same rows, the same pseudonyms, the same suppression as the one-file run
    assert table.sort_by("transaction_id").equals(expected.sort_by("transaction_id"))
    assert manifest["partitioned"] and len(manifest["files"]) == 4
    assert [i["partition"] for i in manifest["inputs"]] == [f"part-{i:03d}.csv" for i in range(4)]
    assert all(len(i["sha256"]) == 64 for i in manifest["inputs"])
    assert sum(i["rows"] for i in manifest["inputs"]) == manifest["rows"]["ingested"] == 300
    assert manifest["rows"]["released"] == table.num_rows
    assert manifest["steps"]["combine"]["check_bias"]["passed"]
    assert manifest["steps"]["combine"]["check_privacy"]["passed"]
    text = json.dumps(manifest)
    assert str(workspace) not in text and "/tmp" not in text
    # the unpartitioned dataset of the same DAG still releases one file
    orders_manifest, _ = read_release(loaded.id, "orders-release", run.run_id)
    assert [f["path"] for f in orders_manifest["files"]] == ["data.parquet"]

    from pactline.recording import open_ledger

    ledger = open_ledger()
    events = [e.event for e in ledger.entries() if (e.payload or {}).get("run_id") == run.run_id]
    assert events.count("data.ingested") == 5 and "partitions.combined" in events
    assert ledger.verify().ok


@pytest.mark.slow
def test_partitioned_synthetic_release_equals_the_one_file_release(airflow_home, workspace, monkeypatch):
    """A dataset no larger than the training sample trains on every released row, in order: the same
    synthetic rows as the one-file run, gated the same way, published as one file."""
    from tests.conftest import run_dag

    monkeypatch.setenv("PACTLINE_SECRET_FRAUD_DETECTION__FRAUD_PSEUDONYM_KEY", PSEUDONYM_KEY)
    data = workspace / "data" / "fraud"
    split_csv(data / "transactions.csv", data / "transactions_parts", 3)
    agreements = workspace / "agreements"
    single = run_dag(partitioned_fraud(agreements, None, synthetic=True))
    assert str(single.state).endswith("success"), single.state
    loaded = load_agreement(agreements / "fraud.yaml")
    _, expected = read_release(loaded.id, "transactions-synthetic", single.run_id)

    run = run_dag(partitioned_fraud(agreements, "../data/fraud/transactions_parts/*.csv", synthetic=True))
    assert str(run.state).endswith("success"), run.state
    manifest, synthetic = read_release(loaded.id, "transactions-synthetic", run.run_id)
    assert synthetic.equals(expected) and synthetic.num_rows > 0
    assert [i["partition"] for i in manifest["inputs"]] == [f"part-{i:03d}.csv" for i in range(3)]
    assert manifest["rows"]["ingested"] == 300 and [f["path"] for f in manifest["files"]] == ["data.parquet"]
    trained = manifest["steps"]["synthesize_transactions-synthetic"]
    assert trained["sampled_from"] == manifest["steps"]["combine"]["rows"]
    assert trained["train_rows"] + trained["holdout_rows"] == trained["sampled_from"]
    assert manifest["steps"]["check_synthetic_transactions-synthetic"]["passed"]
    assert not any(isinstance(v, list) for v in manifest["steps"].values())  # no per-partition results in it
