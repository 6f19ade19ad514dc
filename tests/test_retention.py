"""Retention purges without Airflow: what is due, crypto-shredding with receipts, interrupted purges
(an exception at each step, and a process killed with os._exit) finished by the next run, the
`pactline purge` and `pactline receipts` commands, and tampered receipts being caught. What is due
follows the agreement text the store kept for each version, wherever the purge runs and whatever
became of the agreement file; a version whose text is known nowhere is kept and named.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import textwrap

import pytest

from pactline.agreement import load_agreement
from pactline.cli.main import main
from pactline.parties.history import SignedVersions
from pactline.recording import open_ledger
from pactline.retention import Due, due_date, find_due, load_agreements, run_purge, verify_receipts
from pactline.store import Catalog, DataRoot, KeyShreddedError, Vault
from tests.conftest import REPO, amend, area_counts, populate, total

TODAY = dt.datetime.now(dt.UTC).date()


def states(ctx) -> dict[str, str]:
    return {v.version_id: v.state for v in ctx.vault.catalog.versions(ctx.loaded.id)}


def by_area(ctx, state: str = "live") -> dict[str, int]:
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
    texts = {loaded.fingerprint: loaded}
    def text_of(version):  # what made_under gives: the text of the fingerprint the catalog recorded
        return texts.get(version.fingerprint)

    v = Catalog.new_record(loaded.id, "x", "landing", "n", "b/l", fingerprint=loaded.fingerprint,
                           created_at=dt.datetime(2027, 1, 1, 23, 59, tzinfo=dt.UTC))
    assert find_due([v], text_of, dt.date(2027, 1, 7)) == ([], [])
    assert find_due([v], text_of, dt.date(2027, 1, 8)) == ([Due(v, "retention.landing_days", dt.date(2027, 1, 8))], [])
    # a version made under a text nobody knows: kept, whatever the agreement with its id says today
    stranger = Catalog.new_record(loaded.id, "x", "landing", "n", "b/o", fingerprint="f" * 64)
    assert find_due([stranger], text_of, dt.date(2099, 1, 1)) == ([], [stranger])


def test_copies_of_one_agreement_text_are_one_agreement(workspace, tmp_path):
    """A moved agreement whose old copy is still around is not a clash; two texts under one id are."""
    folder = tmp_path / "agreements"
    folder.mkdir()
    source = workspace / "agreements" / "fraud.yaml"
    shutil.copy(source, folder / "fraud.yaml")
    shutil.copy(source, folder / "fraud-moved.yml")
    found, errors = load_agreements([folder])
    assert list(found) == ["fraud-detection"] and errors == []
    (folder / "fraud-amended.yaml").write_text(source.read_text().replace("landing_days: 7", "landing_days: 3"))
    found, errors = load_agreements([folder])
    assert found == {} and errors and all("more than one file" in e for e in errors)


def test_purge_removes_due_versions_only_with_verifiable_receipts(workspace):
    ctx = populate(workspace)
    assert by_area(ctx) == area_counts(ctx)
    n = area_counts(ctx)["landing"]
    landing = ctx.vault.catalog.versions(ctx.loaded.id, states=["live"])
    landing_files = [f.path for v in landing if v.area == "landing" for f in ctx.vault.catalog.files(v.version_id)]
    kept_files = [f.path for v in landing if v.area != "landing" for f in ctx.vault.catalog.files(v.version_id)]

    report = run_purge(TODAY + dt.timedelta(days=6), agreements=[workspace / "agreements"])
    assert report.due == [] and report.receipts == []  # a day early: nothing
    report = run_purge(TODAY + dt.timedelta(days=7), agreements=[workspace / "agreements"])
    assert {d["clause"] for d in report.due} == {"retention.landing_days"} and len(report.receipts) == n
    assert not report.errors
    rest = {k: v for k, v in area_counts(ctx).items() if k != "landing"}
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

    n = area_counts(ctx)["landing"]
    rest = {k: v for k, v in area_counts(ctx).items() if k != "landing"}
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
    rest = {k: v for k, v in area_counts(ctx).items() if k != "landing"}
    assert by_area(ctx) == {**rest, "landing": area_counts(ctx)["landing"] - 1}  # the others not yet started

    report = run_purge(as_of, agreements=[workspace / "agreements"])
    assert report.finished == [half.version_id] and len(report.receipts) == area_counts(ctx)["landing"]
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
    n = area_counts(ctx)["landing"]
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


def receipt_fingerprints(report) -> dict[str, str]:
    """Version id -> the agreement fingerprint its deletion receipt names."""
    bodies = [DataRoot().read_json(p)["body"] for p in report.receipts]
    return {b["version"]["id"]: b["agreement"]["fingerprint"] for b in bodies}


def test_purge_from_another_working_directory_follows_the_store(workspace, tmp_path, monkeypatch, capsys):
    """Issue 16: `pactline purge --as-of 2099-01-01` run from another folder said "nothing due" and kept
    everything. Due is decided from the catalog and the agreement text it kept: no file is needed."""
    ctx = populate(workspace)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no include/agreements here
    monkeypatch.delenv("PACTLINE_AGREEMENTS", raising=False)
    shutil.rmtree(workspace / "agreements")  # and the agreement files are gone altogether

    assert main(["purge", "--as-of", "2099-01-01"]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("purged ") == total(ctx) and "nothing due" not in captured.out
    assert "kept" not in captured.err
    assert set(states(ctx).values()) == {"purged"}
    assert verify_receipts().ok and open_ledger().verify().ok
    assert main(["purge", "--as-of", "2099-01-01"]) == 0
    assert "nothing due on 2099-01-01" in capsys.readouterr().out


def test_each_version_is_purged_under_the_text_it_was_made_under(workspace, tmp_path):
    """Amended (staging 14 -> 21 days), then renamed and moved out of the agreements folder: versions made
    under the first text go at day 14, those made under the amendment at day 21, each exactly once."""
    path = workspace / "agreements" / "fraud.yaml"
    first = populate(workspace)
    amend(path, path.read_text().replace("staging_days: 14", "staging_days: 21"))
    second = populate(workspace, run_id="manual__amended")  # landing copies are reused: same bytes
    assert second.loaded.fingerprint != first.loaded.fingerprint
    path.rename(tmp_path / "fraud-archived.yml")
    catalog = first.vault.catalog
    staging = {fp: {v.version_id for v in catalog.versions(first.loaded.id) if v.area == "staging" and v.fingerprint == fp}
               for fp in (first.loaded.fingerprint, second.loaded.fingerprint)}
    assert all(len(ids) == len(first.agreement.datasets) for ids in staging.values())
    landing = {v.version_id for v in catalog.versions(first.loaded.id) if v.area == "landing"}

    day14 = run_purge(TODAY + dt.timedelta(days=14), agreements=[workspace / "agreements"])
    assert not day14.errors and not day14.kept and not day14.agreement_errors
    assert {d["version_id"] for d in day14.due} == landing | staging[first.loaded.fingerprint]
    assert {d["version_id"]: d["clause"] for d in day14.due if d["version_id"] in staging[first.loaded.fingerprint]} \
        == dict.fromkeys(staging[first.loaded.fingerprint], "retention.staging_days")
    assert all(catalog.get(v).state == "live" for v in staging[second.loaded.fingerprint])
    assert set(receipt_fingerprints(day14).values()) == {first.loaded.fingerprint}

    assert run_purge(TODAY + dt.timedelta(days=20), agreements=[workspace / "agreements"]).due == []
    day21 = run_purge(TODAY + dt.timedelta(days=21), agreements=[workspace / "agreements"])
    assert {d["version_id"] for d in day21.due} == staging[second.loaded.fingerprint] and not day21.errors
    assert {d["due"] for d in day21.due} == {(TODAY + dt.timedelta(days=21)).isoformat()}
    assert set(receipt_fingerprints(day21).values()) == {second.loaded.fingerprint}
    assert by_area(first) == {"shared": 2 * area_counts(first)["shared"]}  # sandbox: 60 days under both texts
    assert run_purge(TODAY + dt.timedelta(days=21), agreements=[workspace / "agreements"]).receipts == []
    assert verify_receipts().ok


def test_a_version_whose_agreement_text_is_stored_nowhere_is_kept_and_named(workspace, tmp_path, capsys):
    """Without the text a version was made under nothing says it is due: it is kept, and each such version
    is named with the reason. The agreement file with exactly that text stands in for it, under any
    name and even twice; a file with the same agreement id but another text does not."""
    ctx = populate(workspace)
    with SignedVersions(ctx.vault.catalog.db.url).db.transaction() as tx:  # a store whose history was lost
        tx.run("DELETE FROM pactline_agreement_texts")
    as_of = TODAY + dt.timedelta(days=4000)
    assert main(["purge", "--as-of", as_of.isoformat(), "--agreements", str(tmp_path / "nowhere")]) == 1
    captured = capsys.readouterr()
    assert f"nothing due on {as_of}" in captured.out
    kept = [line for line in captured.err.splitlines() if line.startswith("kept ")]
    assert len(kept) == total(ctx) and all(f"fingerprint {ctx.loaded.fingerprint[:12]}" in line for line in kept)
    assert set(states(ctx).values()) == {"live"}

    source = workspace / "agreements" / "fraud.yaml"
    amended = tmp_path / "amended"
    amended.mkdir()
    (amended / "fraud.yaml").write_text(source.read_text().replace("landing_days: 7", "landing_days: 1"))
    report = run_purge(as_of, agreements=[amended])
    assert report.due == [] and len(report.kept) == total(ctx) and set(states(ctx).values()) == {"live"}
    assert {k["fingerprint"] for k in report.kept} == {ctx.loaded.fingerprint}

    copies = tmp_path / "copies"
    (copies / "old").mkdir(parents=True)
    shutil.copy(source, copies / "renamed.yaml")
    shutil.copy(source, copies / "old" / "fraud.yaml")
    (copies / "broken.yaml").write_text("metadata: [")
    report = run_purge(as_of, agreements=[copies, copies / "old", amended])
    assert not report.errors and not report.kept and len(report.agreement_errors) == 1
    assert len(report.receipts) == total(ctx) and set(states(ctx).values()) == {"purged"}
    assert set(receipt_fingerprints(report).values()) == {ctx.loaded.fingerprint}
    assert verify_receipts().ok


def test_keyring_and_catalog_configuration_on_postgres(workspace, monkeypatch, request):
    """The whole purge with keyring and catalog in PostgreSQL (PACTLINE_KEYRING_URL / PACTLINE_CATALOG_URL)."""
    url = request.getfixturevalue("pg_url")
    monkeypatch.setenv("PACTLINE_KEYRING_URL", url)
    monkeypatch.setenv("PACTLINE_CATALOG_URL", url)
    ctx = populate(workspace)
    assert ctx.vault.catalog.url.startswith("postgresql://")
    report = run_purge(TODAY + dt.timedelta(days=7), agreements=[workspace / "agreements"])
    assert len(report.receipts) == area_counts(ctx)["landing"] and not report.errors
    assert Vault.open().catalog.versions(ctx.loaded.id, states=["purged"])
    assert verify_receipts().ok
