"""synthesize and check_synthetic: a synthetic output, trained and gated as the agreement says.

synthesize trains the agreement's synthesizer on raw (mapped) or protected data, as the output's
`train_on` says, holding out a share of the real rows for the privacy metrics; the trained model is
derived data and is stored encrypted like any version. check_synthetic evaluates quality, diagnostic
and privacy against the agreement's thresholds, then the agreed bias checks on the synthetic rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pactline.errors import PolicyViolation
from pactline.pipeline.check_bias import check_bias
from pactline.pipeline.context import RunContext
from pactline.pipeline.gates import open_incident
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


def train_and_sample(ctx: RunContext, dataset_id: str, output_id: str, real: Any, *,
                     also_avoid: Sequence[str] = (), **extra: Any) -> dict[str, Any]:
    """Train the output's synthesizer on `real` (less a holdout), draw the synthetic rows, store all encrypted.

    `also_avoid`: further real tables (paths: the partitions `real` was sampled from) whose identifier values
    no synthetic identifier may equal; read one at a time, so only the values they share are ever held.
    """
    from pactline.synth import sample as draw
    from pactline.synth import save, split_holdout, train

    params = synthetic_output(ctx, output_id).synthesizer
    real_train, real_holdout = split_holdout(real, HOLDOUT, seed=params.seed)
    ds = ctx.agreement.dataset(dataset_id)
    trained = train(real_train, ds, params, rules=ctx.agreement.quality_rules)
    rows, avoid = params.rows or real.num_rows, [real]
    synthetic = draw(trained, rows, avoid=avoid)
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
    result = {"dataset": dataset_id, "output": output_id, "trained_on": params.train_on, "model": params.model,
              "seed": params.seed, "rows": synthetic.num_rows, "train_rows": real_train.num_rows,
              "holdout_rows": real_holdout.num_rows, "synthesizer": model, "staging": files["synthetic"],
              "train": files["train"], "holdout": files["holdout"], "columns": synthetic.schema.names, **extra}
    ctx.record("synthetic.trained", **{k: v for k, v in result.items() if k != "columns"})
    return result


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


def check_synthetic(ctx: RunContext, dataset_id: str, output_id: str, synth: dict[str, Any], *,
                    mapped: str, bias: bool) -> dict[str, Any]:
    from pactline.synth import SyntheticGateFailed, evaluate

    synthetic_output(ctx, output_id)
    ds = ctx.agreement.dataset(dataset_id)
    report = evaluate(ctx.root.read_table(synth["train"]), ctx.root.read_table(synth["holdout"]),
                      ctx.root.read_table(synth["staging"]), ds, ctx.agreement.privacy.synthetic,
                      rules=ctx.agreement.quality_rules, seed=0)
    rel = ctx.reports(dataset_id, f"synthetic_{output_id}.json")
    ctx.root.write_json(rel, {"output": output_id, "fingerprint": ctx.loaded.fingerprint, **report.to_dict()})
    failures = [c.describe() for c in report.failed]
    ctx.record("check.result", dataset=dataset_id, check="synthetic", output=output_id, passed=report.passed,
               quality=report.quality.get("score"), privacy={k: v for k, v in report.privacy.items()
                                                            if k != "leaked_by_column"},
               failures=failures, report=rel)
    if not report.passed:
        error = SyntheticGateFailed(report.failed, dataset_id)
        open_incident(ctx, dataset_id, "gate.synthetic", str(error), rel)
        raise error
    result = {"dataset": dataset_id, "output": output_id, "passed": True, "report": rel,
              "quality": report.quality.get("score"), "privacy": report.privacy, "staging": synth["staging"]}
    if bias:  # the synthesizer must not erase or exaggerate group differences beyond the agreed drift
        result["bias"] = check_bias(ctx, dataset_id, mapped, synth["staging"], kind=f"bias_{output_id}")
    return result
