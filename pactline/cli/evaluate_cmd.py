"""`pactline evaluate FILE --purpose P --model-type T --model-version V --predictions PRED`: score a model's
predictions for the holdout of a purpose against the labels the provider holds (pactline.pipeline.evaluate_model).

Exit 0 when every target of the purpose's model_evaluation is met, 1 when one is missed or the evaluation is
refused (a model type not permitted, an iteration beyond max_iterations, predictions not covering exactly the
holdout), 2 for bad input (a malformed predictions file, a purpose without model_evaluation).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

from pactline.errors import PactlineError


def checked_context(path: str, actor: str, run_id: str, as_of: dt.date | None = None):
    """The agreement in force, every party's signature checked, and a run context over the default data root."""
    from pactline.agreement import load_agreement
    from pactline.keys import KeyStore
    from pactline.parties import PartyKeys
    from pactline.parties.consent import require_consent
    from pactline.pipeline.context import RunContext
    from pactline.policy import Policy
    from pactline.recording import ledger_recorder
    from pactline.store import DataRoot

    loaded = load_agreement(path)
    as_of = as_of or dt.datetime.now(dt.UTC).date()
    recorder = ledger_recorder(loaded, actor=actor, run_id=run_id)
    keys = KeyStore()
    Policy(loaded).require_in_force(as_of)
    require_consent(loaded, recorder, party_keys=PartyKeys(keys))
    return RunContext(loaded=loaded, run_id=run_id, as_of=as_of, root=DataRoot(), keystore=keys, recorder=recorder,
                      actor=actor)


def _evaluate(args: argparse.Namespace) -> int:
    from pactline.pipeline.evaluate_model import evaluate_model
    from pactline.recording import open_ledger
    from pactline.store import layout

    pred = Path(args.predictions)
    if not pred.is_file():
        raise PactlineError(f"predictions file {pred} does not exist")
    as_of = dt.date.fromisoformat(args.as_of) if args.as_of else None
    ctx = checked_context(args.file, "cli:evaluate", layout.evaluation_folder(args.purpose, args.model_version), as_of)
    report = evaluate_model(ctx, open_ledger(), purpose=args.purpose, model_type=args.model_type,
                            model_version=args.model_version, predictions=pred.read_bytes(), predictions_name=pred.name)
    if args.json:
        print(json.dumps({k: report[k] for k in ("purpose", "model_type", "model_version", "iteration", "passed",
                                                 "performance", "report")}
                         | {"failed": [o for o in report["outcomes"] if not o["passed"]]}, indent=2, default=str))
    else:
        perf = report["performance"]
        print(f"{report['purpose']}: {report['model_type']} {report['model_version']} (iteration "
              f"{report['iteration']} of {report['max_iterations']}) on {perf['rows']} holdout rows: "
              f"{'PASSED' if report['passed'] else 'FAILED'}")
        for o in report["outcomes"]:
            seen = "not measurable" if o["observed"] is None else f"{o['observed']:.4f}"
            groups = f" ({o['attribute']} groups #{o['lowest'][0]}..#{o['highest'][0]})" if o["lowest"] else ""
            print(f"  {'ok  ' if o['passed'] else 'FAIL'} {o['clause']}: {seen} vs {o['threshold']}{groups}")
        print(f"report: {report['report']} (the steward's Evaluations page names the groups)")
    return 0 if report["passed"] else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="score a model's holdout predictions against the provider-held labels")
    p.add_argument("file", metavar="AGREEMENT_FILE")
    p.add_argument("--purpose", required=True)
    p.add_argument("--model-type", required=True, help="one of the purpose's permitted_model_types")
    p.add_argument("--model-version", required=True, help="a new version for every changed model (an iteration)")
    p.add_argument("--predictions", required=True, metavar="PRED",
                   help="CSV or Parquet with columns row_key (the holdout's) and score (probability of the positive)")
    p.add_argument("--as-of", metavar="DATE", help="policy clock (YYYY-MM-DD); default today")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_evaluate)
