"""synthesize: a synthetic output, trained as the agreement says.

synthesize trains the agreement's synthesizer on raw (mapped) or protected data, as the output's
`train_on` says, holding out a share of the real rows for the privacy metrics; the trained model is
derived data and is stored encrypted like any version.
A partitioned dataset's synthesizer trains on a seeded sample of its partitions (synthesize_sample).
A differentially private model (dp_mst) is refused before it trains when privacy.dp_budget cannot pay for its
epsilon (dp.refused), and records what it spent (dp.spent). With `fallback`, GaussianCopula's rows that miss a
synthetic gate are replaced by the fallback model's, trained within its time budget, if those pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from pactline.errors import PolicyViolation
from pactline.pipeline.context import RunContext
from pactline.policy import Policy

HOLDOUT = 0.2
MAX_REDRAWS = 5  # rounds of redrawing synthetic identifiers that equal real ones outside the training sample


def synthetic_output(ctx: RunContext, output_id: str):
    output = Policy(ctx.loaded).require_release(output_id, ctx.as_of)
    if output.kind != "synthetic" or output.synthesizer is None:
        raise PolicyViolation(f"outputs[{output_id}].kind", f"output {output_id!r} is not an agreed synthetic output")
    return output


def synthesize(ctx: RunContext, dataset_id: str, output_id: str, *, mapped: str, released: str) -> dict[str, Any]:
    params = synthetic_output(ctx, output_id).synthesizer
    return train_and_sample(ctx, dataset_id, output_id, ctx.root.read_table(mapped if params.train_on == "raw"
                                                                           else released))


def dp_budget_check(ctx: RunContext, dataset_id: str, output_id: str, params: Any, ledger: Any = None
                    ) -> dict[str, float]:
    """Refuse, before any training, a DP run that would take the agreement past privacy.dp_budget (what its dp.*
    ledger entries add up to); the refusal is a ledger entry too (it carries no `epsilon`: nothing was spent)."""
    from pactline.recording import open_ledger
    from pactline.synth.dp import plan_spend, run_delta

    entries = (ledger or open_ledger()).entries(agreement_id=ctx.loaded.id)
    try:
        return plan_spend(params, ctx.agreement.privacy.dp_budget, entries, f"output {output_id}")
    except PolicyViolation as e:
        ctx.record("dp.refused", dataset=dataset_id, output=output_id, model=params.model,
                   requested_epsilon=params.epsilon, requested_delta=run_delta(params), reason=str(e))
        ctx.record("policy.violation", dataset=dataset_id, output=output_id, clause="privacy.dp_budget",
                   message=str(e))
        raise


def train_and_sample(ctx: RunContext, dataset_id: str, output_id: str, real: Any, *,
                     also_avoid: Sequence[str] = (), ledger: Any = None, **extra: Any) -> dict[str, Any]:
    """Train the output's synthesizer on `real` (less a holdout), draw the synthetic rows, store all encrypted.

    `also_avoid`: further real tables (paths: the partitions `real` was sampled from) whose identifier values
    no synthetic identifier may equal; read one at a time, so only the values they share are ever held.
    A differentially private model is refused before it trains when privacy.dp_budget cannot pay for it (the
    spent budget is read from `ledger`, default the process's ledger), and its spend is recorded as dp.spent.
    """
    from pactline.synth import sample as draw
    from pactline.synth import save, split_holdout, train

    params = synthetic_output(ctx, output_id).synthesizer
    real_train, real_holdout = split_holdout(real, HOLDOUT, seed=params.seed)
    ds = ctx.agreement.dataset(dataset_id)
    spend = dp_budget_check(ctx, dataset_id, output_id, params, ledger) if params.epsilon is not None else None
    trained = train(real_train, ds, params, rules=ctx.agreement.quality_rules)
    if spend is not None:  # the epsilon is spent once the model has seen the data, whatever happens next
        ctx.record("dp.spent", dataset=dataset_id, output=output_id, model=params.model, epsilon=params.epsilon,
                   delta=spend["requested_delta"], rho=trained.synthesizer.accounting["rho_used"],
                   spent_before=spend["spent_epsilon"], budget_epsilon=spend["budget_epsilon"],
                   budget_delta=spend["budget_delta"], rows_trained=real_train.num_rows)
    rows, avoid = params.rows or real.num_rows, [real]
    synthetic = draw(trained, rows, avoid=avoid)
    if params.fallback:
        trained, synthetic = _fallback_if_failing(ctx, dataset_id, output_id, trained, synthetic, real_train,
                                                  real_holdout, rows, avoid)
    redraws = 0
    while also_avoid and (clashes := _shared_identifiers(ctx, also_avoid, trained.identifier_columns, synthetic)):
        if redraws == MAX_REDRAWS:
            raise PolicyViolation("privacy.synthetic", f"output {output_id}: synthetic identifiers still equal real "
                                  f"ones after {MAX_REDRAWS} redraws; nothing was released")
        avoid += clashes  # those values are redrawn; the fresh ones are checked again
        synthetic = draw(trained, rows, avoid=avoid)
        redraws += 1
    files = {name: ctx.staging(dataset_id, f"{name}_{output_id}.parquet") for name in ("train", "holdout", "synthetic")}
    for name, table in (("train", real_train), ("holdout", real_holdout), ("synthetic", synthetic)):
        ctx.root.write_table(files[name], table)
    model = ctx.staging(dataset_id, f"synthesizer_{output_id}.bin")
    ctx.root.write_bytes(model, save(trained))
    result = {"dataset": dataset_id, "output": output_id, "trained_on": params.train_on, "model": trained.params.model,
              "seed": params.seed, "rows": synthetic.num_rows, "train_rows": real_train.num_rows,
              "holdout_rows": real_holdout.num_rows, "synthesizer": model, "staging": files["synthetic"],
              "train": files["train"], "holdout": files["holdout"], "columns": synthetic.schema.names,
              "column_plan": [c.to_dict() for c in trained.columns], "pooled": [asdict(p) for p in trained.pooled],
              **extra}
    ctx.record("synthetic.trained", **{k: v for k, v in result.items() if k not in ("columns", "column_plan")})
    return result


def _fallback_if_failing(ctx: RunContext, dataset_id: str, output_id: str, trained: Any, synthetic: Any,
                         real_train: Any, real_holdout: Any, rows: int, avoid: list[Any]) -> tuple[Any, Any]:
    """GaussianCopula's rows judged by the agreement's synthetic gates; if one fails, the declared fallback model
    (CTGAN or TVAE) trains with the epochs its time budget pays for, and replaces it only if it passes them.
    check_synthetic judges the rows kept, as always."""
    from pactline.synth import evaluate, train
    from pactline.synth import sample as draw

    params = trained.params
    ds, thresholds = ctx.agreement.dataset(dataset_id), ctx.agreement.privacy.synthetic
    first = evaluate(real_train, real_holdout, synthetic, ds, thresholds, trained=trained, seed=0)
    if first.passed:
        return trained, synthetic
    other = params.model_copy(update={"model": params.fallback, "fallback": None, "time_budget_seconds": None})
    second = train(real_train, ds, other, rules=ctx.agreement.quality_rules,
                   time_budget_seconds=params.time_budget_seconds)
    rows_b = draw(second, rows, avoid=avoid)
    report = evaluate(real_train, real_holdout, rows_b, ds, thresholds, trained=second, seed=0)
    ctx.record("synthetic.fallback", dataset=dataset_id, output=output_id, first_model=params.model,
               first_failed=[c.metric for c in first.failed], fallback=params.fallback,
               time_budget_seconds=params.time_budget_seconds, epochs_trained=second.epochs_trained,
               fit_seconds=round(second.fit_seconds, 3), fallback_passed=report.passed,
               kept=params.fallback if report.passed else params.model)
    return (second, rows_b) if report.passed else (trained, synthetic)


def _shared_identifiers(ctx: RunContext, paths: Sequence[str], columns: list[str], synthetic: Any) -> list[Any]:
    """Per real table and identifier column, the values it shares with the synthetic rows (usually none)."""
    import pyarrow as pa

    from pactline.synth.fakers import shared_values

    out = []
    for rel in paths:
        with ctx.root.open_parquet(rel) as pf:  # opened once: its schema says which columns to read
            present = [c for c in columns if c in pf.schema_arrow.names and c in synthetic.column_names]
            table = pf.read(columns=present) if present else None
        for name in present:
            found = shared_values(table[name], synthetic[name])
            if len(found):
                out.append(pa.table({name: found}))
    return out


def synthesize_sample(ctx: RunContext, dataset_id: str, output_id: str, *, mapped: list[dict[str, Any]],
                      combined: dict[str, Any], training_rows: int) -> dict[str, Any]:
    """A synthetic output of a partitioned dataset, trained on at most `training_rows` rows sampled from the
    partitions (raw or released, as `train_on` says); a raw sample of the same size is kept for check_synthetic's
    bias drift, which compares synthetic group rates with the raw ones."""
    from pactline.partition.sample import sample_parts

    params = synthetic_output(ctx, output_id).synthesizer
    raw = [(m["staging"], m["rows"]) for m in sorted(mapped, key=lambda m: m["index"])]
    source = raw if params.train_on == "raw" else list(zip(combined["parts"], combined["part_rows"], strict=True))
    real = sample_parts(ctx.root, source, training_rows, params.seed)
    reference = ctx.staging(dataset_id, f"raw_sample_{output_id}.parquet")
    ctx.root.write_table(reference, real if source is raw else sample_parts(ctx.root, raw, training_rows, params.seed))
    # no synthetic identifier may equal a real one of any partition, sampled or not (raw and released)
    every = [rel for rel, _ in raw] + list(combined["parts"])
    return train_and_sample(ctx, dataset_id, output_id, real, also_avoid=every, sampled_from=sum(n for _, n in source),
                            raw_sample=reference)
