"""check_synthetic: a synthetic output's quality, diagnostic and privacy against the agreement's thresholds
(SDMetrics, relative to the holdout), then the agreed bias checks on the synthetic rows."""

from __future__ import annotations

from typing import Any

from pactline.pipeline.check_bias import check_bias
from pactline.pipeline.context import RunContext
from pactline.pipeline.gates import open_incident
from pactline.pipeline.synthesize import synthetic_output


def check_synthetic(ctx: RunContext, dataset_id: str, output_id: str, synth: dict[str, Any], *,
                    mapped: str, bias: bool) -> dict[str, Any]:
    from pactline.synth import ColumnSpec, SyntheticGateFailed, evaluate

    synthetic_output(ctx, output_id)
    ds = ctx.agreement.dataset(dataset_id)
    plan = [ColumnSpec(**c) for c in synth.get("column_plan") or []]  # as trained (ID-like columns regenerated)
    report = evaluate(ctx.root.read_table(synth["train"]), ctx.root.read_table(synth["holdout"]),
                      ctx.root.read_table(synth["staging"]), ds, ctx.agreement.privacy.synthetic,
                      rules=ctx.agreement.quality_rules, columns=plan or None, seed=0)
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
