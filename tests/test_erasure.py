"""Data-subject requests: the access report lists every version holding the subject; erasure rewrites
them without the subject, shreds the old ones with receipts, and leaves the subject's pseudonym in no
live version. Real data from the sample generator, real keys, real ledger.
"""

from __future__ import annotations

import csv
import io
import json

import pyarrow as pa
import pytest

from pactline.cli.main import main
from pactline.recording import open_ledger
from pactline.retention import ErasureError, SubjectMatcher, run_erasure, subject_report, verify_receipts
from pactline.store import DataRoot, KeyShreddedError, Vault
from tests.conftest import emails, populate, protected_outputs, total


def live_cells(vault: Vault, agreement_id: str) -> list[str]:
    """Every cell of every data file of every live version, decrypted."""
    root = DataRoot(vault=vault)
    cells: list[str] = []
    for v in vault.catalog.versions(agreement_id, states=["live"]):
        for f in vault.catalog.files(v.version_id):
            if f.path.endswith(".csv"):
                text = root.read_bytes(f.path).decode()
                cells += [c for row in csv.reader(io.StringIO(text), delimiter=";" if "transactions" in f.path else ",")
                          for c in row]
            elif f.path.endswith(".parquet"):
                table = root.read_table(f.path)
                cells += [str(x) for col in table.columns for x in col.to_pylist() if x is not None]
            else:
                cells.append(root.read_bytes(f.path).decode(errors="replace"))
    return cells


def test_subject_report_and_erasure(workspace, subject, capsys):
    ctx = populate(workspace)
    matcher = SubjectMatcher(ctx.loaded, ctx.keystore, subject.upper())  # spelled differently: normalised
    token = {i.token for ids in matcher.identifiers.values() for i in ids if i.column == "customer_email"}
    assert len(token) == 1  # the same pseudonym in both datasets (shared key, same normalisation)
    [token] = token
    assert token.startswith("cust_")
    before = live_cells(ctx.vault, ctx.loaded.id)
    assert token in before and any(c.strip().lower() == subject.strip().lower() for c in before)

    hits = subject_report(ctx.loaded, subject.upper())
    found = {(h.version.area, h.version.name) for h in hits}
    assert found == {(a, d) for a in ("landing", "staging") for d in ("transactions", "orders")} | {
        ("shared", o.id) for o in protected_outputs(ctx)}
    assert all(h.to_dict()["rows"] >= 1 for h in hits)
    assert {h.recipient for h in hits if h.version.area == "shared"} == {"fraud-lab"}

    path = workspace / "agreements" / "fraud.yaml"
    assert main(["subject-report", str(path), "--subject", subject]) == 0
    out = capsys.readouterr().out
    assert out.count("row(s)") == total(ctx) and "released to fraud-lab" in out and subject not in out and token not in out

    old = {h.version.version_id: h for h in hits}
    released_before = {h.version.name: ctx.root.read_table(next(iter(h.files))).num_rows
                       for h in hits if h.version.area == "shared"}
    report = run_erasure(ctx.loaded, subject)
    assert len(report.replaced) == total(ctx) and len(report.receipts) == total(ctx)
    assert all(r["rows_removed"] >= 1 for r in report.replaced)

    # the subject is in no live version: not raw, not as its pseudonym
    after = live_cells(ctx.vault, ctx.loaded.id)
    assert token not in after and token not in "\n".join(after)
    assert not any(c.strip().lower() == subject.strip().lower() for c in after)
    assert subject_report(ctx.loaded, subject) == []
    # everyone else is still there
    for r in report.replaced:
        new = ctx.vault.catalog.get(r["new"])
        assert new.replaces == r["old"] and new.state == "live"
        assert new.created_at == ctx.vault.catalog.get(r["old"]).created_at  # the retention clock does not restart
        if new.area == "shared":
            data = f"{new.base}/data.parquet"
            assert ctx.root.read_table(data).num_rows == released_before[new.name] - r["rows_removed"]
            manifest = ctx.root.read_json(f"{new.base}/manifest.json")
            assert manifest["erasure"]["replaces"] == r["old"] and manifest["version_id"] == new.version_id
            assert manifest["rows"]["released"] == released_before[new.name] - r["rows_removed"]
            assert ctx.root.exists(manifest["inputs"][0]["landing"])  # lineage points at the new landing copy
    # the old versions are crypto-shredded, with receipts that verify
    for version_id, hit in old.items():
        assert ctx.vault.catalog.get(version_id).state == "purged"
        assert ctx.vault.keyring.status(version_id).destroyed
        assert not ctx.root.exists(hit.version.base)
    receipts = [ctx.root.read_json(p) for p in report.receipts]
    assert {r["body"]["clause"] for r in receipts} == {"data_subject_erasure"}
    assert {r["ledger"]["event"] for r in receipts} == {"erasure"}
    assert {r["body"]["request_id"] for r in receipts} == {report.request_id}
    assert verify_receipts().ok
    ledger = open_ledger()
    assert ledger.verify().ok
    logged = json.dumps([e.payload for e in ledger.entries()])
    assert subject.strip().lower() not in logged.lower() and token not in logged  # never recorded

    # asked again: nothing holds the subject any more
    assert run_erasure(ctx.loaded, subject).replaced == []


def test_a_rewritten_version_keeps_the_agreement_text_it_was_made_under(workspace, subject):
    """Erased under an amendment (staging 14 -> 21 days), a version is still purged when the text its
    rows were made under says: the rewrite keeps the old version's fingerprint and created_at."""
    import datetime as dt

    from pactline.agreement import load_agreement
    from pactline.retention import run_purge
    from tests.conftest import amend

    ctx = populate(workspace)
    path = workspace / "agreements" / "fraud.yaml"
    amend(path, path.read_text().replace("staging_days: 14", "staging_days: 21"))
    report = run_erasure(load_agreement(path), subject)
    new = [ctx.vault.catalog.get(r["new"]) for r in report.replaced]
    assert {v.fingerprint for v in new} == {ctx.loaded.fingerprint}
    staging = {v.version_id for v in new if v.area == "staging"}
    assert staging
    today = dt.datetime.now(dt.UTC).date()
    purged = run_purge(today + dt.timedelta(days=14), agreements=[workspace / "agreements"])
    assert staging <= {d["version_id"] for d in purged.due} and not purged.errors and not purged.kept


def test_copies_of_erased_versions_stay_unreadable(workspace, subject, tmp_path):
    import shutil

    ctx = populate(workspace)
    [hit] = [h for h in subject_report(ctx.loaded, subject) if h.version.name == "transactions-release"]
    [data] = hit.files
    backup = tmp_path / "backup.parquet"
    shutil.copy(ctx.root.local_path(data), backup)
    run_erasure(ctx.loaded, subject)
    with pytest.raises(KeyShreddedError):
        DataRoot(str(tmp_path)).read_table("backup.parquet")


def test_files_written_beside_the_store_are_checked_too(workspace, subject):
    """Data Docs and summaries the checks write straight to disk sit in a version's folder, unregistered;
    a trained model in a version holding the subject is not carried over."""
    ctx = populate(workspace)
    staging = next(v for v in ctx.vault.catalog.versions(ctx.loaded.id) if v.area == "staging" and v.name == "orders")
    docs = ctx.root.local_path(staging.base) / "checks"
    docs.mkdir()
    (docs / "summary.html").write_text(f"<td>{subject.strip().upper()}</td>")
    (docs / "style.css").write_text("td { color: red }")
    ctx.root.write_bytes(f"{staging.base}/synthesizer_x.bin", b"a model trained on these rows")  # encrypted
    [hit] = [h for h in subject_report(ctx.loaded, subject) if h.version.version_id == staging.version_id]
    assert f"{staging.base}/checks/summary.html" in hit.files and f"{staging.base}/checks/style.css" not in hit.files
    report = run_erasure(ctx.loaded, subject)
    new = ctx.vault.catalog.get(next(r["new"] for r in report.replaced if r["old"] == staging.version_id))
    assert ctx.root.exists(f"{new.base}/checks/style.css") and not ctx.root.exists(f"{new.base}/checks/summary.html")
    assert not ctx.root.exists(f"{new.base}/synthesizer_x.bin")  # derived from the subject's rows: not kept
    assert not ctx.root.exists(staging.base)


def test_landing_copies_identical_after_erasure_keep_one_version(workspace, subject):
    """Two deliveries that differ only in the subject's rows become the same bytes without them."""
    import datetime as dt

    from pactline.agreement import load_agreement
    from pactline.keys import KeyStore
    from pactline.pipeline.context import RunContext
    from pactline.pipeline.ingest import ingest

    ctx = RunContext(loaded=load_agreement(workspace / "agreements" / "fraud.yaml"), run_id="r1",
                     as_of=dt.date(2027, 1, 1), root=DataRoot(), keystore=KeyStore(), recorder=lambda e, p: None)
    first = ingest(ctx, "transactions")
    src = workspace / "data" / "fraud" / "transactions.csv"
    lines = src.read_text().splitlines()
    extra = next(line for line in lines if subject in line).replace("T9", "T8", 1)  # another row of the subject
    src.write_text("\n".join([*lines, extra]) + "\n")
    second = ingest(ctx, "transactions")
    assert first["version_id"] != second["version_id"]
    report = run_erasure(ctx.loaded, subject)
    assert len(report.replaced) == 2 and report.replaced[0]["new"] == report.replaced[1]["new"]
    [live] = ctx.vault.catalog.versions(ctx.loaded.id, states=["live"])
    assert subject_report(ctx.loaded, subject) == [] and live.version_id == report.replaced[0]["new"]


def test_erasure_dry_run_and_bad_requests(workspace, subject, capsys):
    ctx = populate(workspace)
    path = workspace / "agreements" / "fraud.yaml"
    assert main(["erase", str(path), "--subject", subject, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("would rewrite") == total(ctx) and subject not in out
    assert {v.state for v in ctx.vault.catalog.versions(ctx.loaded.id)} == {"live"}
    assert main(["erase", str(path), "--subject", "nobody@example.invalid"]) == 0
    assert f"none of {total(ctx)} live version(s) holds the subject" in capsys.readouterr().out
    with pytest.raises(ErasureError):
        SubjectMatcher(ctx.loaded, ctx.keystore, "   ")
    with pytest.raises(ErasureError):
        SubjectMatcher(ctx.loaded, ctx.keystore, subject, column="no_such_column")


def test_subject_by_raw_column_only(workspace, subject):
    """--column names a column that is not pseudonymised: its values are matched as they are."""
    ctx = populate(workspace)
    t = ctx.root.read_table(next(f.path for v in ctx.vault.catalog.versions(ctx.loaded.id)
                                 if v.area == "staging" and v.name == "transactions"
                                 for f in ctx.vault.catalog.files(v.version_id)))
    txn = t["transaction_id"][0].as_py()
    hits = subject_report(ctx.loaded, txn, column="transaction_id")
    # transaction_id is kept as is, so the released version holds it in clear too
    assert {h.version.area for h in hits} == {"landing", "staging", "shared"}
    assert all(set(h.files.values()) == {1} for h in hits)  # one row in each file (mapped, protected, ...)
    assert pa.compute.sum(SubjectMatcher(ctx.loaded, ctx.keystore, txn, "transaction_id").rows(t, "transactions")).as_py() == 1


def test_an_erased_subject_does_not_return_with_the_next_delivery(workspace, subject, capsys):
    """The partner sends the same file again after the erasure: the subject's rows are dropped at
    map_schema (counted, never named), so no new staging or released version holds them."""
    ctx = populate(workspace)
    path = workspace / "agreements" / "fraud.yaml"
    assert main(["erase", str(path), "--subject", subject]) == 0
    out = capsys.readouterr().out
    assert "registered for later runs" in out and "transactions.customer_email" in out and subject not in out
    assert subject_report(ctx.loaded, subject) == []

    again = populate(workspace, run_id="manual__after_erasure")  # the unchanged partner files, ingested again
    hits = subject_report(again.loaded, subject)
    # only the landing copies (the partner's bytes, purged on the landing clock) hold the subject again
    assert {h.version.area for h in hits} == {"landing"} and len(hits) == len(again.agreement.datasets)
    import datetime as dt

    from pactline.keys import KeyStore
    from pactline.pipeline.context import RunContext
    from pactline.pipeline.ingest import ingest
    from pactline.pipeline.map_schema import map_schema

    third = RunContext(loaded=again.loaded, run_id="manual__third", as_of=dt.date(2027, 1, 1), root=DataRoot(),
                       keystore=KeyStore(), recorder=lambda event, payload: None)
    mapped = map_schema(third, "transactions", ingest(third, "transactions")["landing"])
    bank = [e.strip().lower() for e in emails(workspace / "data" / "fraud" / "transactions.csv", "KLANT_EMAIL", ";")]
    assert mapped["erased_rows_dropped"] == bank.count(subject.strip().lower()) >= 1
    assert mapped["rows"] == len(bank) - mapped["erased_rows_dropped"]
    requested = next(e for e in open_ledger().entries() if e.event == "erasure.requested")
    assert set(requested.payload["registered"]) >= {"transactions.customer_email", "orders.customer_email"}
    assert subject.strip().lower() not in json.dumps([e.payload for e in open_ledger().entries()]).lower()
    # a subject named by a kept (not tokenised) column cannot be registered, and the CLI says so
    txn = pa.array([next(iter(emails(workspace / "data" / "fraud" / "transactions.csv", "TXN_ID", ";")))])
    assert main(["erase", str(path), "--subject", txn[0].as_py(), "--column", "transaction_id"]) == 0
    assert "not registered" in capsys.readouterr().err
