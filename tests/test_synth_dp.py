"""The differentially private synthesizer (dp_mst on OpenDP) and its budget (issue 14, item 5): the accounting,
the output's schema and declared domains, the ledger's epsilon, and the refusal of a run the budget cannot pay."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pytest

from pactline.agreement import load_agreement
from pactline.agreement.model import Dataset, DPBudget, QualityRule, Synthesizer
from pactline.errors import PolicyViolation
from pactline.synth import dp, load, sample, save, train
from tests.conftest import amend

WARDS = [f"ward-{i}" for i in range(4)]
RARE = [f"rare-{i:03d}" for i in range(40)]  # each held by one row: a DP release must not show them


def _dataset() -> Dataset:
    personal = {"legal_basis": "art9_health_care"}
    return Dataset.model_validate({"id": "adm", "provider": "p", "source": {"uri": "a.csv"}, "columns": {
        "name": {"type": "string", "category": "direct_identifier", "pii_entity": "PERSON",
                 "transformation": {"kind": "redact"}, **personal},
        "sex": {"type": "categorical", "category": "protected_attribute", "nullable": False,
                "transformation": {"kind": "keep"}, **personal},
        "age": {"type": "integer", "category": "quasi_identifier", "transformation": {"kind": "keep"}, **personal},
        "ward": {"type": "string", "category": "non_personal", "transformation": {"kind": "keep"}},
        "admitted": {"type": "date", "category": "quasi_identifier", "transformation": {"kind": "keep"}, **personal},
        "readmitted": {"type": "boolean", "category": "label", "transformation": {"kind": "keep"}},
    }})


RULES = [QualityRule(dataset="adm", column="sex", rule="allowed_values", values=["female", "male", "diverse"]),
         QualityRule(dataset="adm", column="age", rule="range", min=0, max=120)]


@pytest.fixture(scope="module")
def table() -> pa.Table:
    rng = np.random.default_rng(7)
    n = 4000
    wards = list(rng.choice(WARDS, n - len(RARE), p=[0.4, 0.3, 0.2, 0.1])) + RARE
    return pa.table({
        "name": [f"Person {i}" for i in range(n)],
        "sex": rng.choice(["female", "male", "diverse"], n, p=[0.5, 0.45, 0.05]),
        "age": rng.integers(18, 95, n),
        "ward": wards,
        "admitted": pa.array(np.datetime64("2025-01-01") + rng.integers(0, 90, n).astype("timedelta64[D]"),
                             type=pa.date32()),
        "readmitted": rng.random(n) < 0.2,
    })


@pytest.fixture(scope="module")
def trained(table):
    return train(table, _dataset(), Synthesizer(model="dp_mst", epsilon=4.0, delta=1e-6, seed=3), rules=RULES)


def test_privacy_accounting_stays_within_the_runs_epsilon():
    rho = dp.rho_for(1.0, 5e-8)
    assert rho > 0 and dp.epsilon_of(rho, 5e-8) <= 1.0
    assert dp.epsilon_of(rho * 1.05, 5e-8) > 1.0  # the largest rho that fits, not a loose one


def test_output_has_the_schema_and_respects_declared_categories_and_ranges(trained, table):
    out = sample(trained, 1000, seed=1)
    assert out.schema.names == table.schema.names
    assert [f.type for f in out.schema] == [pa.string(), pa.string(), pa.int64(), pa.string(), pa.date32(),
                                            pa.bool_()]
    assert set(out["sex"].to_pylist()) <= {"female", "male", "diverse"}  # declared, and not nullable: no null
    ages = [a for a in out["age"].to_pylist() if a is not None]
    assert ages and min(ages) >= 0 and max(ages) <= 120
    wards = set(out["ward"].to_pylist())
    assert not wards & set(RARE) and wards <= set(WARDS) | {dp.OTHER, None}
    assert wards & set(WARDS)  # the common wards survive the threshold at epsilon 4 on 4,000 rows
    months = {d.strftime("%Y-%m") for d in out["admitted"].to_pylist() if d is not None}
    assert months and months <= {"2025-01", "2025-02", "2025-03"}
    assert not set(out["name"].to_pylist()) & set(table["name"].to_pylist())  # faked, never learned
    accounting = trained.describe()["dp"]
    assert accounting["epsilon"] == 4.0 and accounting["rho_used"] <= accounting["rho"]
    assert accounting["epsilon_accounted"] <= 4.0 and accounting["threshold_delta_used"] <= 1e-6 / 2
    assert len(accounting["pairs"]) == 4  # a spanning tree over the five modelled columns


def test_saved_model_samples_the_same(trained):
    again = load(save(trained))
    assert sample(again, 50, seed=9).equals(sample(trained, 50, seed=9))


def test_dp_needs_epsilon_and_a_budget_that_can_pay_for_it(example_text):
    from pactline.agreement import load_text

    with pytest.raises(ValueError, match="needs epsilon"):
        Synthesizer(model="dp_mst")
    with pytest.raises(ValueError, match="differentially private models only"):
        Synthesizer(epsilon=1.0)
    text = re.sub(r"(?m)^    public_key: .*\n", "", example_text("fraud")).replace(
        "synthesizer: {model: gaussian_copula,", "synthesizer: {model: dp_mst, epsilon: 3,")
    with pytest.raises(Exception, match=r"privacy\.dp_budget"):
        load_text(text)
    with pytest.raises(Exception, match=r"more than the whole privacy\.dp_budget"):
        load_text(text.replace("  on_undeclared_pii: redact\n",
                               "  on_undeclared_pii: redact\n  dp_budget: {epsilon: 2}\n"))


def test_plan_spend_sums_what_the_ledger_records():
    entries = [SimpleNamespace(event="dp.spent", payload={"epsilon": 1.0, "delta": 1e-7}),
               SimpleNamespace(event="dp.refused", payload={"requested_epsilon": 5.0}),
               SimpleNamespace(event="synthetic.trained", payload={"epsilon": 9.0})]
    assert dp.spent(entries) == (1.0, 1e-7)
    budget = DPBudget(epsilon=2.0)
    assert dp.plan_spend(Synthesizer(model="dp_mst", epsilon=1.0), budget, entries, "x")["spent_epsilon"] == 1.0
    with pytest.raises(PolicyViolation, match=r"more than privacy\.dp_budget"):
        dp.plan_spend(Synthesizer(model="dp_mst", epsilon=1.5), budget, entries, "x")


def _dp_fraud(workspace):
    path = workspace / "agreements" / "fraud.yaml"
    text = path.read_text().replace("synthesizer: {model: gaussian_copula, seed: 42,",
                                    "synthesizer: {model: dp_mst, epsilon: 1.0, seed: 42,")
    amend(path, text.replace("  on_undeclared_pii: redact\n", "  on_undeclared_pii: redact\n"
                                                               "  dp_budget: {epsilon: 1.5, delta: 1e-6}\n"))
    return path


def test_epsilon_is_recorded_and_a_run_past_the_budget_is_refused_before_training(workspace, monkeypatch):
    from pactline.keys import KeyStore
    from pactline.pipeline.context import RunContext
    from pactline.pipeline.ingest import ingest
    from pactline.pipeline.map_schema import map_schema
    from pactline.pipeline.protect import protect
    from pactline.pipeline.synthesize import synthesize
    from pactline.recording import ledger_recorder, open_ledger
    from pactline.store import DataRoot

    loaded = load_agreement(_dp_fraud(workspace))

    def run(run_id):
        ctx = RunContext(loaded=loaded, run_id=run_id, as_of=dt.date(2027, 1, 1), root=DataRoot(),
                         keystore=KeyStore(), recorder=ledger_recorder(loaded, actor="test", run_id=run_id))
        ing = ingest(ctx, "transactions")
        mapped = map_schema(ctx, "transactions", ing["landing"])
        prot = protect(ctx, "transactions", mapped["staging"])
        return synthesize(ctx, "transactions", "transactions-synthetic", mapped=mapped["staging"],
                          released=prot["staging"])

    first = run("manual__dp1")
    assert first["model"] == "dp_mst" and first["rows"] == 300
    entries = list(open_ledger().entries(agreement_id=loaded.id))
    spent = [e.payload for e in entries if e.event == "dp.spent"]
    assert len(spent) == 1 and spent[0]["epsilon"] == 1.0 and spent[0]["budget_epsilon"] == 1.5
    assert spent[0]["output"] == "transactions-synthetic" and spent[0]["run_id"] == "manual__dp1"

    def no_training(*args, **kwargs):
        raise AssertionError("a refused run must not train")

    monkeypatch.setattr("pactline.synth.train", no_training)
    with pytest.raises(PolicyViolation, match=r"privacy\.dp_budget"):
        run("manual__dp2")
    entries = list(open_ledger().entries(agreement_id=loaded.id))
    refused = [e.payload for e in entries if e.event == "dp.refused"]
    assert len(refused) == 1 and refused[0]["requested_epsilon"] == 1.0 and "epsilon" not in refused[0]
    assert any(e.event == "policy.violation" and e.payload.get("clause") == "privacy.dp_budget" for e in entries)
    assert dp.spent(entries) == (1.0, 1e-7)  # the refusal spent nothing
