"""Synthetic gates relative to the holdout, high-cardinality columns, the time-budgeted fallback, and how the new
agreement fields are classified in an amendment (issue 14, item 4). Real SDV and SDMetrics on small tables."""

from __future__ import annotations

import math
import re

import numpy as np
import pyarrow as pa
import pytest

from pactline.agreement import load_text
from pactline.agreement.diff import diff_agreements
from pactline.agreement.model import Dataset, HoldoutRelative, Synthesizer, SyntheticThresholds
from pactline.synth import evaluate, sample, split_holdout, train
from pactline.synth import high_cardinality as hc
from pactline.synth.evaluate import gates
from pactline.synth.train import fit_epochs_in_budget

RELATIVE = SyntheticThresholds(relative_to_holdout=HoldoutRelative())


def _dataset(columns: dict) -> Dataset:
    return Dataset.model_validate({"id": "t", "provider": "p", "source": {"uri": "t.csv"}, "columns": columns})


def _measured(copy_rate: float, holdout_copy_rate: float | None, quality=0.6, quality_ref=0.62, dcr=0.35,
              dcr_ref=0.33) -> tuple[dict, dict]:
    quality_d = {"score": quality, "holdout_reference_score": quality_ref}
    privacy = {"dcr_baseline_protection": {"score": dcr, "holdout_reference_score": dcr_ref},
               "dcr_overfitting_protection": {"score": 0.9}, "exact_copies": int(copy_rate * 1000),
               "exact_copy_rate": copy_rate, "holdout_copy_rate": holdout_copy_rate, "leaked_identifiers": 0}
    return quality_d, privacy


def test_relative_gates_judge_against_the_holdouts_own_scores():
    # the readmission-protected numbers of issue 14: 4.2% copies where fresh real rows copy 3.47% by chance
    checks = {c.metric: c for c in gates(*_measured(0.0423, 0.0347), RELATIVE)}
    assert all(c.passed for c in checks.values())
    assert checks["exact_copy_rate"].threshold == pytest.approx(1.5 * 0.0347)
    assert "relative_to_holdout.max_copy_rate_factor" in checks["exact_copy_rate"].clause
    assert checks["quality_score"].threshold == pytest.approx(0.9 * 0.62)
    # the same numbers fail the absolute gates: 0 copies, quality 0.8, DCR baseline 0.5
    absolute = {c.metric: c.passed for c in gates(*_measured(0.0423, 0.0347), SyntheticThresholds())}
    assert absolute == {"quality_score": False, "dcr_baseline_protection": False, "dcr_overfitting_protection": True,
                        "exact_copies": False, "leaked_identifiers": True}


def test_relative_gates_fail_above_the_factor_and_without_a_holdout():
    failed = {c.metric: c for c in gates(*_measured(0.06, 0.0347, quality=0.5), RELATIVE) if not c.passed}
    assert set(failed) == {"exact_copy_rate", "quality_score"}
    assert "needs <= 0.0520" in failed["exact_copy_rate"].describe()
    # no copies by chance in the holdout: no copy is allowed
    assert not next(c for c in gates(*_measured(0.001, 0.0), RELATIVE) if c.metric == "exact_copy_rate").passed
    # no holdout to compare with: the gate cannot measure, so it does not pass
    none = next(c for c in gates(*_measured(0.0, None), RELATIVE) if c.metric == "exact_copy_rate")
    assert not none.passed and math.isnan(none.threshold) and "needs a holdout" in none.describe()
    assert none.to_dict()["threshold"] is None  # JSON-safe


@pytest.fixture(scope="module")
def low_cardinality():
    """Generalised columns (4 x 3 x 2 x 14 values): real rows equal each other by chance, as protected data do."""
    rng = np.random.default_rng(0)
    n = 1500
    band = rng.choice(["0-29", "30-59", "60-89", "90+"], n, p=[0.3, 0.4, 0.25, 0.05])
    region = rng.choice(["1", "2", "3"], n)
    flag = (rng.random(n) < np.where(band == "60-89", 0.5, 0.2))
    stay = np.minimum(rng.geometric(0.3, n), 14)
    return pa.table({"age_band": band, "region": region, "readmitted": flag, "stay": stay})


LOW_DS = _dataset({
    "age_band": {"type": "string", "category": "quasi_identifier", "legal_basis": "contract",
                 "transformation": {"kind": "keep"}},
    "region": {"type": "string", "category": "quasi_identifier", "legal_basis": "contract",
               "transformation": {"kind": "keep"}},
    "readmitted": {"type": "boolean", "category": "label", "transformation": {"kind": "keep"}},
    "stay": {"type": "integer", "category": "non_personal", "transformation": {"kind": "keep"}},
})


def test_low_cardinality_data_copies_rows_as_the_holdout_does(low_cardinality):
    real_train, holdout = split_holdout(low_cardinality, 0.2, seed=0)
    trained = train(real_train, LOW_DS, Synthesizer(seed=1))
    synthetic = sample(trained, 1000, seed=1)
    report = evaluate(real_train, holdout, synthetic, LOW_DS, RELATIVE, trained=trained)
    p = report.privacy
    # 336 possible rows: most holdout rows equal a training row by chance, and so do most synthetic rows
    assert p["holdout_copy_rate"] > 0.5 and p["exact_copies"] > 500
    assert p["exact_copy_rate"] <= 1.5 * p["holdout_copy_rate"]
    assert p["dcr_baseline_protection"]["holdout_reference_score"] is not None
    assert report.passed, [c.describe() for c in report.failed]
    absolute = evaluate(real_train, holdout, synthetic, LOW_DS, SyntheticThresholds(), trained=trained)
    assert "exact_copies" in {c.metric for c in absolute.failed}


HIGH_DS = _dataset({
    "ref": {"type": "string", "category": "non_personal", "transformation": {"kind": "keep"}},
    "code": {"type": "string", "category": "sensitive", "legal_basis": "contract", "transformation": {"kind": "keep"}},
    "age": {"type": "integer", "category": "quasi_identifier", "legal_basis": "contract",
            "transformation": {"kind": "keep"}},
})


@pytest.fixture(scope="module")
def high_cardinality_table():
    rng = np.random.default_rng(3)
    n = 2000
    common = [f"C{i:03d}" for i in range(20)]  # 20 codes held by ~90 rows each
    rare = [f"R{i:04d}" for i in range(hc.MANY_CATEGORIES + 100)]  # 600 codes held by 1 row each
    codes = list(rng.choice(common, n - len(rare))) + rare
    return pa.table({"ref": [f"REF-{i:06d}" for i in rng.permutation(n)], "code": codes,
                     "age": rng.integers(18, 90, n)})


def test_id_like_columns_are_regenerated_and_rare_values_pooled(high_cardinality_table):
    from pactline.synth import plan_columns

    specs, pooled = hc.plan(high_cardinality_table, plan_columns(HIGH_DS, high_cardinality_table.schema))
    roles = {s.name: s for s in specs}
    assert roles["ref"].role == "regenerated" and roles["ref"].reason.startswith("ID-like")
    assert roles["code"].role == "modelled" and "become 'other'" in roles["code"].reason
    assert [(p.column, p.distinct, p.kept, p.pooled_rows) for p in pooled] == [("code", 620, 20, 600)]

    trained = train(high_cardinality_table, HIGH_DS, Synthesizer(seed=2))
    synthetic = sample(trained, 2000, seed=2)
    rare = {v for v in high_cardinality_table["code"].to_pylist() if v.startswith("R")}
    out = set(synthetic["code"].to_pylist())
    assert not out & rare and out <= {f"C{i:03d}" for i in range(20)} | {hc.OTHER}
    assert not set(synthetic["ref"].to_pylist()) & set(high_cardinality_table["ref"].to_pylist())
    assert trained.describe()["pooled"] == [{"column": "code", "distinct": 620, "kept": 20, "pooled_rows": 600}]


def test_fallback_epochs_fit_the_time_budget(low_cardinality):
    from sdv.single_table import CTGANSynthesizer

    from pactline.synth.frames import to_pandas
    from pactline.synth.metadata import metadata_from_specs, plan_columns

    specs = plan_columns(LOW_DS, low_cardinality.schema)
    md = metadata_from_specs(specs, "t", low_cardinality.schema)
    data = {"t": to_pandas(low_cardinality.slice(0, 200), low_cardinality.column_names)}
    tiny = CTGANSynthesizer(md, epochs=50, batch_size=100, enable_gpu=False)
    assert fit_epochs_in_budget(tiny, data, 50, budget=1e-6) == 1  # no time left after the probe: one epoch
    roomy = CTGANSynthesizer(md, epochs=3, batch_size=100, enable_gpu=False)
    assert fit_epochs_in_budget(roomy, data, 3, budget=3600) == 3  # never more than the agreed epochs
    trained = train(low_cardinality.slice(0, 200), LOW_DS, Synthesizer(model="ctgan", epochs=2, batch_size=100),
                    time_budget_seconds=3600)
    assert trained.describe()["epochs_trained"] == 2 and sample(trained, 20).num_rows == 20


def test_fallback_needs_a_budget_and_gaussian_copula():
    with pytest.raises(ValueError, match="time_budget_seconds"):
        Synthesizer(fallback="ctgan")
    with pytest.raises(ValueError, match="gaussian_copula only"):
        Synthesizer(model="tvae", fallback="ctgan", time_budget_seconds=10)
    assert Synthesizer(fallback="ctgan", time_budget_seconds=60).model_dump()["fallback"] == "ctgan"
    assert "fallback" not in Synthesizer().model_dump()  # unset fields keep existing fingerprints


@pytest.fixture
def fraud_text(example_text):
    return re.sub(r"(?m)^    public_key: .*\n", "", example_text("fraud"))


def _effects(old: str, new: str) -> dict[str, str]:
    return {c.path: c.effect for c in diff_agreements(load_text(old).agreement, load_text(new).agreement)}


def test_new_fields_are_classified(fraud_text):
    relative = fraud_text.replace("    max_exact_copies: 0\n", "    max_exact_copies: 0\n    relative_to_holdout: {}\n")
    assert _effects(fraud_text, relative) == {"privacy.synthetic.relative_to_holdout": "widening"}
    assert _effects(relative, fraud_text) == {"privacy.synthetic.relative_to_holdout": "narrowing"}
    factor = relative.replace("relative_to_holdout: {}", "relative_to_holdout: {max_copy_rate_factor: 3}")
    assert _effects(relative, factor) == {"privacy.synthetic.relative_to_holdout.max_copy_rate_factor": "widening"}
    dp = fraud_text.replace("  on_undeclared_pii: redact\n", "  on_undeclared_pii: redact\n  dp_budget: {epsilon: 2}\n")
    dp = dp.replace("synthesizer: {model: gaussian_copula,", "synthesizer: {model: dp_mst, epsilon: 1,")
    effects = _effects(fraud_text, dp)
    assert effects["privacy.dp_budget"] == "widening"
    assert effects["outputs[transactions-synthetic].synthesizer.epsilon"] == "narrowing"  # a new bound
    assert effects["outputs[transactions-synthetic].synthesizer.model"] == "neutral"
    more = dp.replace("dp_budget: {epsilon: 2}", "dp_budget: {epsilon: 4}").replace("dp_mst, epsilon: 1,",
                                                                                    "dp_mst, epsilon: 0.5,")
    assert _effects(dp, more) == {"privacy.dp_budget.epsilon": "widening",
                                  "outputs[transactions-synthetic].synthesizer.epsilon": "narrowing"}
    fallback = fraud_text.replace("locale: nl_NL}", "locale: nl_NL, fallback: ctgan, time_budget_seconds: 60}")
    assert set(_effects(fraud_text, fallback).values()) == {"neutral"}



def test_pipeline_falls_back_within_the_budget_and_keeps_rows_that_pass(workspace):
    """GaussianCopula misses a gate no synthesizer can meet (quality 0.999): CTGAN trains for the epochs its
    budget pays (one: the budget is spent by the probe), misses it too, and GaussianCopula's rows are kept."""
    import datetime as dt

    from pactline.agreement import load_agreement
    from pactline.keys import KeyStore
    from pactline.pipeline.context import RunContext
    from pactline.pipeline.ingest import ingest
    from pactline.pipeline.map_schema import map_schema
    from pactline.pipeline.protect import protect
    from pactline.pipeline.synthesize import synthesize
    from pactline.store import DataRoot
    from tests.conftest import amend

    path = workspace / "agreements" / "fraud.yaml"
    text = path.read_text().replace("min_quality_score: 0.75", "min_quality_score: 0.999").replace(
        "locale: nl_NL}", "locale: nl_NL, epochs: 5, fallback: ctgan, time_budget_seconds: 0.001}")
    amend(path, text)
    loaded = load_agreement(path)
    events: list = []
    ctx = RunContext(loaded=loaded, run_id="manual__fallback", as_of=dt.date(2027, 1, 1), root=DataRoot(),
                     keystore=KeyStore(), recorder=lambda event, payload: events.append((event, payload)))
    ing = ingest(ctx, "transactions")
    mapped = map_schema(ctx, "transactions", ing["landing"])
    prot = protect(ctx, "transactions", mapped["staging"])
    result = synthesize(ctx, "transactions", "transactions-synthetic", mapped=mapped["staging"],
                        released=prot["staging"])
    fallback = [p for e, p in events if e == "synthetic.fallback"]
    assert len(fallback) == 1
    assert fallback[0]["first_failed"] == ["quality_score"] and fallback[0]["epochs_trained"] == 1
    assert fallback[0]["fallback_passed"] is False and fallback[0]["kept"] == "gaussian_copula"
    assert result["rows"] == 300 and result["model"] == "gaussian_copula"
