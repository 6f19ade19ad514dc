"""`pactline validate`, `pactline plan`, `pactline schema`: the agreement on its own, no data touched."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pactline.agreement import load_agreement
from pactline.agreement.schema import json_schema_text
from pactline.errors import AgreementError
from pactline.plan import build_plan, deployment_party, render_text
from pactline.sources import SourceRefused, source_problems


def _validate(args: argparse.Namespace) -> int:
    bad = 0
    results = []
    for path in args.files:
        try:
            loaded = load_agreement(path)
        except AgreementError as e:
            bad += 1
            results.append({"file": path, "valid": False,
                            "problems": [{"line": p.line, "path": p.path, "message": p.message} for p in e.problems]})
            if not args.json:
                print(f"{path}: INVALID, {len(e.problems)} problem(s)", file=sys.stderr)
                for p in e.problems:
                    print(f"  {path}:{p.line or '?'}: {p.path or '<document>'}: {p.message}", file=sys.stderr)
            continue
        examples = _check_examples(loaded)
        sources = source_problems(loaded)  # the source roots are known here: refuse before anything runs
        if examples or sources:
            bad += 1
        results.append({"file": path, "valid": not (examples or sources), "id": loaded.id,
                        "fingerprint": loaded.fingerprint,
                        "problems": [{"line": None, "path": "examples", "message": m} for m in examples]
                        + [{"line": None, "path": where, "message": m} for where, m in sources]})
        if not args.json:
            if examples:
                print(f"{path}: INVALID, an example does not match what the transformation does", file=sys.stderr)
                for m in examples:
                    print(f"  {path}: {m}", file=sys.stderr)
            if sources:
                print(f"{path}: INVALID, a source lies outside its provider's source root", file=sys.stderr)
                for where, m in sources:
                    print(f"  {path}: {where}: {m}", file=sys.stderr)
            if not (examples or sources):
                print(f"{path}: valid ({loaded.id} v{loaded.agreement.metadata.version}, fingerprint {loaded.fingerprint})")
    if args.json:
        print(json.dumps(results, indent=2))
    return 2 if bad else 0


def _check_examples(loaded) -> list[str]:
    """The agreement's concrete examples must be what the engine really does (keyed ones are skipped)."""
    try:
        from pactline.protect import check_examples
    except ImportError:
        return []
    out = []
    for ds in loaded.agreement.datasets:
        for name, col in ds.columns.items():
            out += [f"datasets[{ds.id}].columns.{name}: {m}" for m in check_examples(name, col)]
    return out


def _plan(args: argparse.Namespace) -> int:
    loaded = load_agreement(args.file)
    refused = source_problems(loaded)
    if refused:
        raise SourceRefused(refused[0][0], "; ".join(m for _, m in refused))
    plan = build_plan(loaded, args.party or deployment_party())
    scans = []
    if args.scan:  # reads the sources: the quasi-identifier combinations next to the declared ones
        from pactline.pii.source_scan import scan_quasi_identifiers

        scans = [scan_quasi_identifiers(loaded, ds.id) for ds in plan.datasets]
    if args.json:
        print(json.dumps({**plan.to_dict(), "quasi_identifier_scan": [s.to_dict() for s in scans]}
                         if args.scan else plan.to_dict(), indent=2))
    else:
        print(render_text(plan) + "".join("\n" + s.render() for s in scans))
    return 0


def _schema(args: argparse.Namespace) -> int:
    text = json_schema_text()
    if args.check:
        current = Path(args.check).read_text() if Path(args.check).exists() else ""
        if current != text:
            print(f"{args.check} is out of date; run `pactline schema --write {args.check}`", file=sys.stderr)
            return 1
        return 0
    if args.write:
        Path(args.write).write_text(text)
        print(f"wrote {args.write}")
    else:
        sys.stdout.write(text)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="validate agreement files; every problem with its YAML path and line")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="machine-readable result")
    p.set_defaults(func=_validate)

    p = sub.add_parser("plan", help="print the plan derived from an agreement (datasets, tasks, per-column steps)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--party", metavar="ID", help="what this party's deployment runs (default $PACTLINE_PARTY; "
                                                 "unset: every party's steps, the embedded default)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--scan", action="store_true", help="read each dataset's source and show the column combinations "
                                                       "that single out most rows next to the declared "
                                                       "quasi-identifiers (counts only)")
    p.set_defaults(func=_plan)

    p = sub.add_parser("schema", help="print or write the agreement's JSON Schema")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--write", metavar="PATH")
    g.add_argument("--check", metavar="PATH", help="exit 1 if PATH differs from the generated schema")
    p.set_defaults(func=_schema)
