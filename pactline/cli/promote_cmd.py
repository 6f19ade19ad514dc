"""`pactline promote FILE --purpose P --model-version V --approved-by NAME | --rejected-by NAME [--comment TEXT]`:
a steward's decision on moving an evaluated model version from sandbox to production, outside Airflow (the
promotion DAG asks the same through Airflow's HITL). Exit 1 when the version may not be promoted (never evaluated,
failed its evaluation, decided already); `pactline promote FILE --list` shows every version with its status."""

from __future__ import annotations

import argparse
import json

from pactline.errors import PactlineError


def _promote(args: argparse.Namespace) -> int:
    from pactline.cli.evaluate_cmd import checked_context
    from pactline.evaluation.history import model_versions
    from pactline.pipeline.promote_model import decide_promotion
    from pactline.recording import open_ledger

    ctx = checked_context(args.file, "cli:promote", f"promote__{args.purpose or 'list'}")
    if args.list:
        versions = [v.to_dict() for v in model_versions(open_ledger(), ctx.loaded.id, args.purpose)]
        if args.json:
            print(json.dumps(versions, indent=2))
        for v in [] if args.json else versions:
            print(f"{v['purpose']}  {v['model_type']:<20} {v['model_version']:<16} iteration {v['iteration']}  "
                  f"{v['status']}{' by ' + v['decided_by'] if v['decided_by'] else ''}")
        return 0
    if not args.purpose or not args.model_version or not (args.approved_by or args.rejected_by):
        raise PactlineError("give --purpose, --model-version and --approved-by NAME or --rejected-by NAME (or --list)")
    result = decide_promotion(ctx, open_ledger(), purpose=args.purpose, model_version=args.model_version,
                              approve=bool(args.approved_by), user=args.approved_by or args.rejected_by,
                              comment=args.comment)
    print(json.dumps(result, indent=2) if args.json else
          f"{result['purpose']} {result['model_type']} {result['model_version']}: {result['status']} by {result['user']}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("promote", help="promote an evaluated model version to production, or reject it")
    p.add_argument("file", metavar="AGREEMENT_FILE")
    p.add_argument("--purpose")
    p.add_argument("--model-version")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--approved-by", metavar="NAME")
    who.add_argument("--rejected-by", metavar="NAME")
    p.add_argument("--comment")
    p.add_argument("--list", action="store_true", help="every evaluated model version with its status")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_promote)
