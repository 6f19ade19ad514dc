"""Retention purges without Airflow: what is due, crypto-shredding with receipts, interrupted purges
(an exception at each step, and a process killed with os._exit) finished by the next run, the
`pactline purge` and `pactline receipts` commands, and tampered receipts being caught.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pactline.agreement import load_agreement
from pactline.cli.main import main
from pactline.keys import KeyStore
from pactline.pipeline.context import RunContext
from pactline.pipeline.ingest import ingest
from pactline.pipeline.map_schema import map_schema
from pactline.pipeline.protect import protect
from pactline.pipeline.publish import publish
from pactline.recording import open_ledger
from pactline.retention import Due, due_date, find_due, run_purge, verify_receipts
from pactline.store import Catalog, DataRoot, KeyShreddedError, Vault
from tests.conftest import REPO

TODAY = dt.datetime.now(dt.UTC).date()


def populate(workspace: Path, name: str = "fraud", run_id: str = "manual__populate") -> RunContext:
    """Every dataset of an agreement through ingest, map_schema, protect and publish, on the default
    data root, keys and catalog under $PACTLINE_HOME (what the CLI and the DAGs use)."""
    ctx = RunContext(loaded=load_agreement(workspace / "agreements" / f"{name}.yaml"), run_id=run_id,
                     as_of=dt.date(2027, 1, 1), root=DataRoot(), keystore=KeyStore(),
                     recorder=lambda event, payload: None)
    for ds in ctx.agreement.datasets:
        ing = ingest(ctx, ds.id)
        mapped = map_schema(ctx, ds.id, ing["landing"])
        prot = protect(ctx, ds.id, mapped["staging"])
        for out in protected_outputs(ctx, ds.id):
            publish(ctx, out.id, {"ingest": ing, "map_schema": mapped, "protect": prot}, prot["staging"])
    return ctx


def protected_outputs(ctx: RunContext, dataset_id: str | None = None) -> list:
    # synthetic outputs need the synthesize step; these tests release protected data only
    return [o for o in ctx.agreement.outputs if o.kind == "protected" and dataset_id in (None, o.dataset)]


def layout(ctx: RunContext) -> dict[str, int]:
    """How many versions of each area `populate` makes."""
    n = len(ctx.agreement.datasets)
    return {"landing": n, "staging": n, "shared": len(protected_outputs(ctx))}


def total(ctx: RunContext) -> int:
    return sum(layout(ctx).values())


def states(ctx: RunContext) -> dict[str, str]:
    return {v.version_id: v.state for v in ctx.vault.catalog.versions(ctx.loaded.id)}


def by_area(ctx: RunContext, state: str = "live") -> dict[str, int]:
    out: dict[str, int] = {}
    for v in ctx.vault.catalog.versions(ctx.loaded.id, states=[state]):
        out[v.area] = out.get(v.area, 0) + 1
    return out


def test_due_dates_and_clauses(workspace):
    loaded = load_agreement(workspace / "agreements" / "fraud.yaml")  # landing 7, sandbox 60, expires 2027-12-31 +14
    def version(zone: str, created: dt.date):
        return Catalog.new_record(loaded.id, "x", zone, "n", f"b/{zone}/{created}",
                                  created_at=dt.datetime.combine(created, dt.time(23, 59), tzinfo=dt.UTC))

    assert due_date(version("landing", dt.date(2027, 1, 1)), loaded) == (dt.date(2027, 1, 8), "retention.landing_days")
    # created close to expiry: termination grace comes first
    late = version("sandbox", dt.date(2027, 12, 1))
    assert due_date(late, loaded) == (dt.date(2028, 1, 15), "retention.after_termination_days")
    v = version("landing", dt.date(2027, 1, 1))
    assert find_due([v], {loaded.id: loaded}, dt.date(2027, 1, 7)) == ([], [])
    assert find_due([v], {loaded.id: loaded}, dt.date(2027, 1, 8)) == ([Due(v, "retention.landing_days",
                                                                            dt.date(2027, 1, 8))], [])
    stranger = Catalog.new_record("other-agreement", "x", "landing", "n", "b/o")
    assert find_due([stranger], {loaded.id: loaded}, dt.date(2099, 1, 1)) == ([], [stranger])


def test_purge_removes_due_versions_only_with_verifiable_receipts(workspace):
    ctx = populate(workspace)
    assert by_area(ctx) == layout(ctx)
    n = layout(ctx)["landing"]
    landing = ctx.vault.catalog.versions(ctx.loaded.id, states=["live"])
    landing_files = [f.path for v in landing if v.area == "landing" for f in ctx.vault.catalog.files(v.version_id)]
    kept_files = [f.path for v in landing if v.area != "landing" for f in ctx.vault.catalog.files(v.version_id)]

    report = run_purge(TODAY + dt.timedelta(days=6), agreements=[workspace / "agreements"])
    assert report.due == [] and report.receipts == []  # a day early: nothing
    report = run_purge(TODAY + dt.timedelta(days=7), agreements=[workspace / "agreements"])
    assert {d["clause"] for d in report.due} == {"retention.landing_days"} and len(report.receipts) == n
    assert not report.errors
    rest = {k: v for k, v in layout(ctx).items() if k != "landing"}
    assert by_area(ctx) == rest and by_area(ctx, "purged") == {"landing": n}
    root = DataRoot()
    assert not any(root.exists(p) for p in landing_files)
    assert all(root.exists(p) for p in kept_files)
    for v in ctx.vault.catalog.versions(ctx.loaded.id, states=["live"]):  # the rest still reads
        for f in ctx.vault.catalog.files(v.version_id):
            assert root.read_table(f.path).num_rows > 0

    receipt = root.read_json(report.receipts[0])
    body = receipt["body"]
    assert body["clause"] == "retention.landing_days" and body["key_destroyed"] is True
    assert body["agreement"] == {"id": ctx.loaded.id, "fingerprint": ctx.loaded.fingerprint}
    assert body["files"][0]["path"].endswith("/source.csv") and len(body["files"][0]["sha256"]) == 64
    assert body["due"] == (TODAY + dt.timedelta(days=7)).isoformat()
    assert receipt["ledger"]["event"] == "purge"
    assert verify_receipts().ok
    ledger = open_ledger()
    assert ledger.verify().ok
    assert ledger.get(body["intent_entry"]).event == "purge.intent"
    text = json.dumps([e.payload for e in ledger.entries()])
    assert "@example" not in text  # no personal data in the ledger

    # a second run on the same day has nothing left to do
    again = run_purge(TODAY + dt.timedelta(days=7), agreements=[workspace / "agreements"])
    assert again.due == [] and again.receipts == []


@pytest.mark.parametrize("stage", ["marked", "intent_recorded", "key_destroyed", "files_deleted",
                                   "receipt_appended", "receipt_logged", "receipt_stored"])
def test_purge_interrupted_at_any_step_is_finished_by_the_next_run(workspace, stage):
    ctx = populate(workspace)
    as_of = TODAY + dt.timedelta(days=7)

    class Crash(Exception):
        pass

    def crash(at, version):
        if at == stage:
            raise Crash(at)

    n = layout(ctx)["landing"]
    rest = {k: v for k, v in layout(ctx).items() if k != "landing"}
    first = run_purge(as_of, agreements=[workspace / "agreements"], hook=crash)
    assert len(first.errors) == n and all("Crash" in e for e in first.errors)
    purging = ctx.vault.catalog.versions(ctx.loaded.id, states=["purging"])
    assert {v.area for v in purging} == {"landing"} and len(purging) == n
    if stage in ("key_destroyed",):  # the key is gone but the files are still there: unreadable
        path = ctx.vault.catalog.files(purging[0].version_id)[0].path
        assert DataRoot().exists(path)
        with pytest.raises(KeyShreddedError):
            DataRoot().read_bytes(path)

    second = run_purge(as_of, agreements=[workspace / "agreements"])
    assert sorted(second.finished) == sorted(v.version_id for v in purging) and not second.errors
    assert second.due == []  # nothing else was due, nothing else touched
    assert by_area(ctx) == rest and by_area(ctx, "purged") == {"landing": n}
    ledger = open_ledger()
    for v in purging:
        done = ctx.vault.catalog.get(v.version_id)
        receipts = [e for e in ledger.entries(event="purge") if e.payload["receipt"]["receipt_id"] == done.receipt_id]
        assert len(receipts) == 1  # never appended twice
        assert not DataRoot().exists(v.base)
    assert verify_receipts().ok and ledger.verify().ok


KILL_SCRIPT = textwrap.dedent("""
    import datetime as dt, os, sys
    from pactline.retention import run_purge
    def die(stage, version):
        if stage == "files_deleted":
            os._exit(9)  # killed: no cleanup, no finally blocks, mid-purge
    run_purge(dt.date.fromisoformat(sys.argv[1]), agreements=[sys.argv[2]], hook=die)
""")


def test_purge_killed_mid_way_is_finished_by_the_next_run(workspace):
    ctx = populate(workspace)
    as_of = TODAY + dt.timedelta(days=7)
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, as_of.isoformat(), str(workspace / "agreements")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    [half] = ctx.vault.catalog.versions(ctx.loaded.id, states=["purging"])
    assert ctx.vault.keyring.status(half.version_id).destroyed
    rest = {k: v for k, v in layout(ctx).items() if k != "landing"}
    assert by_area(ctx) == {**rest, "landing": layout(ctx)["landing"] - 1}  # the others not yet started

    report = run_purge(as_of, agreements=[workspace / "agreements"])
    assert report.finished == [half.version_id] and len(report.receipts) == layout(ctx)["landing"]
    assert by_area(ctx) == rest and not report.errors
    assert verify_receipts().ok


def test_purge_dry_run_lists_without_deleting(workspace, capsys):
    ctx = populate(workspace)
    before = states(ctx)
    as_of = (TODAY + dt.timedelta(days=400)).isoformat()
    code = main(["purge", "--as-of", as_of, "--dry-run", "--agreements", str(workspace / "agreements")])
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("would purge") == total(ctx) and "retention.sandbox_days" in out and "retention.landing_days" in out
    assert states(ctx) == before
    assert all(DataRoot().exists(v.base) for v in ctx.vault.catalog.versions(ctx.loaded.id))
    assert not list(open_ledger().entries(event="purge.intent"))

    code = main(["purge", "--as-of", as_of, "--agreements", str(workspace / "agreements"), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and len(report["receipts"]) == total(ctx)
    assert set(states(ctx).values()) == {"purged"}


def test_receipts_verify_detects_an_edited_or_missing_receipt(workspace, capsys):
    ctx = populate(workspace)
    run_purge(TODAY + dt.timedelta(days=7), agreements=[workspace / "agreements"])
    n = layout(ctx)["landing"]
    assert main(["receipts", "verify"]) == 0
    assert f"ok: {n} of {n}" in capsys.readouterr().out

    root = DataRoot()
    first, second, *_ = sorted(root.ls("fraud-detection/receipts"))
    path = f"fraud-detection/receipts/{first}"
    doc = root.read_json(path)
    doc["body"]["files"][0]["sha256"] = "0" * 64  # claim another file was deleted
    root.write_json(path, doc)
    assert main(["receipts", "verify"]) == 1
    err = capsys.readouterr().err
    assert f"BAD {path}" in err and "signature does not verify" in err and "does not hold this receipt" in err
    assert second not in err

    root.delete(f"fraud-detection/receipts/{second}")
    assert main(["receipts", "verify", "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert {b["path"] for b in result["bad"]} == {path, f"fraud-detection/receipts/{second}"}
    assert any("missing" in p for b in result["bad"] for p in b["problems"])


def test_unknown_agreements_are_never_purged(workspace):
    ctx = populate(workspace)
    report = run_purge(TODAY + dt.timedelta(days=4000), agreements=[workspace / "nowhere"])
    assert report.due == [] and len(report.kept_unknown_agreement) == total(ctx)
    assert set(states(ctx).values()) == {"live"}


def test_keyring_and_catalog_configuration_on_postgres(workspace, monkeypatch, request):
    """The whole purge with keyring and catalog in PostgreSQL (PACTLINE_KEYRING_URL / PACTLINE_CATALOG_URL)."""
    url = request.getfixturevalue("pg_url")
    monkeypatch.setenv("PACTLINE_KEYRING_URL", url)
    monkeypatch.setenv("PACTLINE_CATALOG_URL", url)
    ctx = populate(workspace)
    assert ctx.vault.catalog.url.startswith("postgresql://")
    report = run_purge(TODAY + dt.timedelta(days=7), agreements=[workspace / "agreements"])
    assert len(report.receipts) == layout(ctx)["landing"] and not report.errors
    assert Vault.open().catalog.versions(ctx.loaded.id, states=["purged"])
    assert verify_receipts().ok
