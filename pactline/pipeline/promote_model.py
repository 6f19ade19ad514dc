"""promote: move an evaluated model version of a purpose from sandbox to production, or reject it.

Only a version whose evaluation passed may be promoted, and only by a steward's decision (the HITL step of the
promotion DAG, or `pactline promote`); a version is decided once. `model.promoted` / `model.rejected` go to the
ledger with the user, comment and the evaluation they rest on; a promotion that is not allowed is refused and
recorded as `model.promotion_refused`.
"""

from __future__ import annotations

from typing import Any

from pactline.errors import PactlineError, PolicyViolation
from pactline.evaluation.history import PROMOTED, REJECTED, evaluated, model_versions
from pactline.pipeline.context import RunContext

PROMOTION_REFUSED = "model.promotion_refused"


def promotion_candidate(ctx: RunContext, ledger: Any, purpose: str, model_version: str) -> dict[str, Any]:
    """The evaluation a promotion would rest on; refuses (recorded) a version that may not be promoted."""
    index = next((i for i, m in enumerate(ctx.agreement.model_evaluation) if m.purpose == purpose), None)
    if index is None:
        raise PactlineError(f"purpose {purpose!r} has no model_evaluation in agreement {ctx.loaded.id}")
    clause = f"model_evaluation[{index}]"
    try:
        entries = [x for x in evaluated(ledger, ctx.loaded.id, purpose) if x.payload["model_version"] == model_version]
        if not entries:
            raise PolicyViolation(clause, f"model version {model_version!r} of {purpose!r} was never evaluated; "
                                  "evaluate it on the holdout first (pactline evaluate)")
        status = next(v.status for v in model_versions(ledger, ctx.loaded.id, purpose)
                      if v.model_version == model_version)
        if status in ("promoted", "rejected"):
            raise PolicyViolation(clause, f"model version {model_version!r} of {purpose!r} was {status} already")
        evaluation = entries[-1]
        if not evaluation.payload["passed"]:
            raise PolicyViolation(clause, f"model version {model_version!r} of {purpose!r} failed its evaluation "
                                  f"({len(evaluation.payload.get('failed') or [])} target(s) missed); it cannot be "
                                  "promoted to production")
    except PolicyViolation as e:
        ctx.record(PROMOTION_REFUSED, purpose=purpose, model_version=model_version, clause=e.clause, reason=str(e))
        raise
    p = evaluation.payload
    return {"purpose": purpose, "model_version": model_version, "model_type": p["model_type"],
            "evaluation_entry": evaluation.index, "report": p.get("report"), "dataset": p.get("dataset")}


def decide_promotion(ctx: RunContext, ledger: Any, *, purpose: str, model_version: str, approve: bool,
                     user: str | None, comment: str | None = None) -> dict[str, Any]:
    """Record the steward's decision on a promotion candidate (refused when it is none)."""
    candidate = promotion_candidate(ctx, ledger, purpose, model_version)
    decision = {**candidate, "user": user, "comment": comment or None, "from_zone": "sandbox",
                "to_zone": "production" if approve else "sandbox"}
    ctx.record(PROMOTED if approve else REJECTED, **decision)
    return {**decision, "status": "promoted" if approve else "rejected"}
