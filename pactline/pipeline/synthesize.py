"""synthesize: a synthetic output, trained as the agreement says.

synthesize trains the agreement's synthesizer on raw (mapped) or protected data, as the output's
`train_on` says, holding out a share of the real rows for the privacy metrics; the trained model is
derived data and is stored encrypted like any version.
A partitioned dataset's synthesizer trains on a seeded sample of its partitions (synthesize_sample).
"""

from __future__ import annotations

from collections.abc import Sequence
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
