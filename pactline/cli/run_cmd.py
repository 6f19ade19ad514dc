"""`pactline run FILE`: run an agreement's DAG once on the embedded default, through dag.test.

This is the code path Airflow uses (the same DAG, operators and core), on the local SQLite
metadata database under $AIRFLOW_HOME. Production releases wait for a steward: either run
the DAG in Airflow and approve there, or pass --approved-by NAME to approve from here (the
approval, the name and the fingerprint are written to the ledger).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import re
import sys
from pathlib import Path

from pactline.agreement import load_agreement
from pactline.keys import pactline_home
from pactline.parties.signatures import require_signed
from pactline.plan import APPROVE, build_plan


def prepare_airflow(agreement_dir: Path) -> None:
    """Embedded default: SQLite under $PACTLINE_HOME/airflow unless AIRFLOW_HOME says otherwise.

    dag.test registers the DAG by parsing the DAG folder, so that folder must be this project's
    dags/ reading the agreement's own folder.
    """
    spec = importlib.util.find_spec("operators")  # not imported: importing it would load Airflow's config
    project = Path(next(iter(spec.submodule_search_locations))).resolve().parent
    os.environ.setdefault("AIRFLOW_HOME", str(pactline_home() / "airflow"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(project / "dags")
    os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(project / "plugins"))
    os.environ["PACTLINE_AGREEMENTS"] = str(agreement_dir)
    from airflow.utils.db import check_migrations, upgradedb

    try:
        check_migrations(timeout=0)
    except TimeoutError:
        upgradedb()


def _run(args: argparse.Namespace) -> int:
    loaded = load_agreement(args.file)
    require_signed(loaded)  # the DAG's steps would each refuse (and open an incident); say why up front
    plan = build_plan(loaded)
    approvals = [f"{ds.id}.{s.task_id}" for ds in plan.datasets for s in ds.steps if s.kind == APPROVE]
    if approvals and not args.approved_by:
        print(
            f"{loaded.id}: release(s) {', '.join(approvals)} need steward approval. Run the DAG in Airflow "
            "(make up) and approve there, or pass --approved-by NAME to approve from the command line.",
            file=sys.stderr,
        )
        return 2
    as_of = args.as_of or dt.date.today()
    prepare_airflow(Path(args.file).resolve().parent)
    from operators.render import render
    from pactline.recording import ledger_recorder
    from pactline.store import DataRoot

    dag = render(loaded)
    if approvals:  # the decision is recorded before the run, so it precedes the release in the ledger
        record = ledger_recorder(loaded, actor=f"cli:{args.approved_by}", run_id=None)
        for task_id in approvals:
            record("approval.decided", {"task": task_id, "decision": "Approve", "user": args.approved_by,
                                        "via": "cli", "as_of": as_of.isoformat()})
    pattern = "|".join(re.escape(t) + "$" for t in approvals) or None
    from pactline.recording import open_ledger

    ledger_start = open_ledger().size()  # this run's step.failed entries come after it
    run = dag.test(run_conf={"as_of": as_of.isoformat()}, mark_success_pattern=pattern)
    root = DataRoot()
    releases = []
    for out in loaded.agreement.outputs:
        for version in root.ls(f"{loaded.id}/shared/{out.id}"):
            manifest = f"{loaded.id}/shared/{out.id}/{version}/manifest.json"
            if root.exists(manifest) and root.read_json(manifest)["run"]["run_id"] == run.run_id:
                releases.append((out.id, root.uri(f"{loaded.id}/shared/{out.id}/{version}")))
    state = str(getattr(run.state, "value", run.state))
    print(f"\nrun {run.run_id}: {state}")
    for output_id, uri in releases:
        print(f"released {output_id}: {uri}/data.parquet (manifest {uri}/manifest.json)")
    if not _seal_ledger():
        return 1
    if state != "success":
        failed = [ti.task_id for ti in run.get_task_instances() if str(getattr(ti.state, "value", ti.state)) == "failed"]
        bad_input = _bad_input(loaded.id, run.run_id, ledger_start)
        for message in bad_input:
            print(f"error: {message}", file=sys.stderr)
        print(f"failed task(s): {', '.join(failed) or 'unknown'}; the ledger holds each error "
              "(pactline ledger tail)", file=sys.stderr)
        return 2 if bad_input else 1  # bad input exits 2 like a bad agreement; a failed gate or refusal 1
    return 0


def _error_types(*bases: type) -> set[str]:
    """The names of these error classes and of every subclass (step.failed records the type's name)."""
    names, todo = set(), list(bases)
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


def _bad_input(agreement_id: str, run_id: str, start: int, limit: int = 10) -> list[str]:
    """The run's steps that failed on bad input (a DataError or AgreementError), as `task: message`.
    Pactline's own messages name files, columns and rows, never a value, so they are printed whole."""
    from pactline.errors import AgreementError, DataError
    from pactline.recording import open_ledger

    bad = _error_types(DataError, AgreementError)
    seen: dict[str, None] = {}  # one line per distinct error: a thousand partitions may fail alike
    for entry in open_ledger().entries(start, agreement_id=agreement_id, event="step.failed"):
        p = entry.payload
        if p.get("run_id") == run_id and p.get("error_type") in bad:
            where = ".".join(str(x) for x in (p.get("dataset"), p.get("step")) if x)
            seen.setdefault(f"{where}: {p.get('error')}" if where else str(p.get("error")))
    return list(seen)[:limit]


def _seal_ledger() -> bool:
    """Sign a checkpoint over the whole ledger and publish it: the run's listener does this too when
    dag.test fires it, and doing it again is a no-op, so no run of `pactline run` ends unsigned."""
    from pactline.ledger.witness import publish_checkpoint, resolve_party, seal
    from pactline.recording import open_ledger

    ledger = open_ledger()
    try:
        cp = seal(ledger, publish=False)
    except Exception as e:
        print(f"ledger: could not sign a checkpoint at the end of the run: {e}", file=sys.stderr)
        return False
    try:
        publish_checkpoint(ledger)
        where = f"published as {resolve_party()}"
    except Exception as e:
        where = f"NOT published ({e})"
    print(f"ledger: checkpoint signed at tree size {cp.tree_size}, {where}")
    return True


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run an agreement's DAG once locally (dag.test) and print the releases")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--as-of", type=dt.date.fromisoformat, metavar="DATE",
                   help="policy clock YYYY-MM-DD (default today): runs outside the agreement's term are refused")
    p.add_argument("--approved-by", metavar="NAME", help="approve production releases as this steward")
    p.set_defaults(func=_run)
