"""Witnessed ledgers: sealing, publishing on the exchange, and a recipient witnessing a provider's ledger.

Two real SQLite ledgers with their own signing keys: the provider's (key under its own home) and the
recipient's (the test's PACTLINE_HOME), and one exchange folder both read. Attacks are done the way
an intruder with write access to the provider's database would: raw SQL with the append-only
triggers dropped, hashes recomputed, checkpoints re-signed with the ledger's own key.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import sys
import threading
import types
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pactline.cli.main import main
from pactline.ledger import EVENT_TYPES, Ledger, LedgerConfigError, LedgerCorruptError, check_proof
from pactline.ledger.checkpoint import sign_checkpoint
from pactline.ledger.entry import canonical_json, entry_content
from pactline.ledger.merkle import leaf_hash
from pactline.ledger.signing import key_id
from pactline.ledger.witness import (
    BAD_SIGNATURE,
    FORK,
    KEY_CHANGED,
    MISSING,
    TRUNCATED,
    publish_checkpoint,
    published_path,
    read_published,
    resolve_party,
    seal,
    witness,
)
from pactline.store.exchange import ledger_dir, open_exchange
from tests.conftest import intruder

PROVIDER, RECIPIENT = "nordbank", "fraud-lab"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def exchange(tmp_path):
    return open_exchange(str(tmp_path / "exchange"))


@pytest.fixture
def provider_db(tmp_path) -> Path:
    return tmp_path / "provider" / "ledger.sqlite"


@pytest.fixture
def provider(tmp_path, provider_db, monkeypatch):
    monkeypatch.delenv("PACTLINE_LEDGER_SIGNING_KEY", raising=False)
    monkeypatch.delenv("PACTLINE_EXCHANGE", raising=False)
    monkeypatch.delenv("PACTLINE_PARTY", raising=False)
    with Ledger.open(f"sqlite:///{provider_db}", home=tmp_path / "provider", checkpoint_every=0) as lg:
        yield lg


@pytest.fixture
def recipient_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'recipient' / 'ledger.sqlite'}"


@pytest.fixture
def recipient(recipient_url):
    with Ledger.open(recipient_url, checkpoint_every=0) as lg:  # key in the test's PACTLINE_HOME
        yield lg


def grow(lg: Ledger, n: int) -> None:
    for i in range(n):
        lg.append("check.result", agreement_id="dsa-1", actor="steward", payload={"i": i, "passed": True})


def publish(lg: Ledger, exchange) -> None:
    seal(lg, party=PROVIDER, exchange=exchange)


def look(recipient: Ledger, exchange, **kw):
    return witness(PROVIDER, ledger=recipient, exchange=exchange, own_party=RECIPIENT, **kw)


def drop_latest(exchange) -> None:
    """What an intruder does so the honest publisher starts a new chain instead of refusing."""
    exchange.delete(published_path(PROVIDER))


def witness_entries(lg: Ledger, event: str):
    return [e for e in lg.entries(agreement_id="*") if e.event == event]


# -- sealing and publishing ---------------------------------------------------------------------


def test_growing_ledger_is_witnessed_ok_repeatedly(provider, recipient, exchange):
    grow(provider, 5)
    publish(provider, exchange)
    first = look(recipient, exchange)
    assert first.ok and first.first_seen and first.kept.tree_size == 5
    assert first.key_id == key_id(provider.public_key()) and "trust on first use" in first.message

    again = look(recipient, exchange)  # nothing new published
    assert again.ok and not again.first_seen and again.kept.tree_size == 5 and "unchanged" in again.message

    grow(provider, 7)
    publish(provider, exchange)
    grow(provider, 3)
    publish(provider, exchange)
    publish(provider, exchange)  # nothing appended since: no new publication
    later = look(recipient, exchange)
    assert later.ok and later.previous.tree_size == 5 and later.kept.tree_size == 15
    assert later.proofs_checked == 2  # 15 <- 12 <- 5, the chain of published proofs

    names = exchange.ls(f"{ledger_dir(PROVIDER)}/checkpoints")
    assert names == ["12.json", "15.json", "5.json"]
    assert exchange.read_raw(f"{ledger_dir(PROVIDER)}/public_key.pem").decode() == provider.public_key_pem()
    latest = read_published(PROVIDER, exchange=exchange)
    assert latest.checkpoint == provider.latest_checkpoint() and latest.previous_tree_size == 12
    # the published proof is a plain RFC 9162 consistency proof anyone can check with the public key
    assert "extends tree size 12" in check_proof(latest.proof.to_dict(), provider.public_key_pem())

    # every result is in the recipient's own ledger, which is sealed and published in turn
    witnessed = witness_entries(recipient, "ledger.witnessed")
    assert [e.payload["tree_size"] for e in witnessed] == [5, 5, 15]
    assert witnessed[0].payload["public_key"] == provider.public_key_pem()
    assert recipient.verify().unsigned_entries == 0
    assert read_published(RECIPIENT, exchange=exchange).checkpoint.tree_size == recipient.size()


def test_publishing_refuses_a_ledger_that_no_longer_extends_what_it_published(provider, exchange, tmp_path):
    grow(provider, 4)
    publish(provider, exchange)
    with Ledger.open(f"sqlite:///{tmp_path / 'other.sqlite'}", home=tmp_path / "provider") as other:
        grow(other, 6)
        other.checkpoint()
        with pytest.raises(LedgerConfigError, match="another ledger publishes as this party"):
            publish_checkpoint(other, party=PROVIDER, exchange=exchange)
    with pytest.raises(LedgerConfigError, match="cannot name a folder"):
        resolve_party("../etc")


def test_truncated_ledger_is_caught(provider, provider_db, recipient, exchange):
    grow(provider, 20)
    publish(provider, exchange)
    assert look(recipient, exchange).ok

    conn = intruder(provider_db)  # delete the tail and every checkpoint that covers it, re-sign
    conn.execute("DELETE FROM ledger_entries WHERE idx >= 15")
    conn.execute("DELETE FROM ledger_checkpoints WHERE tree_size > 15")
    provider.checkpoint()
    assert provider.verify().ok and provider.verify().unsigned_entries == 0  # locally, nothing shows
    with pytest.raises(LedgerCorruptError, match="entries were deleted"):
        publish_checkpoint(provider, party=PROVIDER, exchange=exchange)  # the honest publisher refuses
    drop_latest(exchange)
    publish(provider, exchange)
    assert read_published(PROVIDER, exchange=exchange).checkpoint.tree_size == 15

    result = look(recipient, exchange, notify_hours=24, contacts=["dpo@fraud-lab.example"])
    assert not result.ok and result.problem == TRUNCATED
    assert "shrank from 20 to 15" in result.message and "15..19" in result.message
    assert result.kept.tree_size == 20  # the witness keeps what it had, not the shorter tree

    failed = witness_entries(recipient, "ledger.witness_failed")
    incidents = witness_entries(recipient, "incident.opened")
    assert len(failed) == 1 and len(incidents) == 1
    incident = incidents[0].payload
    assert incidents[0].agreement_id == "*" and incident["kind"] == "ledger.witness"
    assert incident["problem"] == TRUNCATED and incident["contacts"] == ["dpo@fraud-lab.example"]
    assert {"summary", "report", "opened_at", "notify_by"} <= set(incident)
    assert failed[0].payload["incident_index"] == incidents[0].index == result.incident_index
    assert failed[0].payload["published"]["tree_size"] == 15  # the provider's own signature over it: evidence

    again = look(recipient, exchange)  # the same failure again: recorded, its incident stays the first one
    assert not again.ok and again.incident_index == result.incident_index
    assert len(witness_entries(recipient, "ledger.witness_failed")) == 2
    assert len(witness_entries(recipient, "incident.opened")) == 1


def rewrite_entry(lg: Ledger, db: Path, index: int) -> None:
    """Change an entry's payload, recompute its leaf hash, drop the checkpoints and re-sign with the ledger's key."""
    entry = lg.get(index)
    payload = {**entry.payload, "passed": False}
    content = entry_content(entry.index, entry.timestamp, entry.event, entry.agreement_id, entry.fingerprint,
                            entry.actor, payload)
    conn = intruder(db)
    conn.execute("UPDATE ledger_entries SET payload = ?, leaf_hash = ? WHERE idx = ?",
                 (canonical_json(payload), leaf_hash(canonical_json(content).encode()), index))
    conn.execute("DELETE FROM ledger_checkpoints")
    lg.checkpoint()


@pytest.mark.parametrize("variant", ["same-size", "linked", "restarted", "spliced"])
def test_rewritten_entry_is_caught_as_a_fork(provider, provider_db, recipient, exchange, variant):
    grow(provider, 20)
    publish(provider, exchange)
    witnessed = look(recipient, exchange)
    assert witnessed.ok

    rewrite_entry(provider, provider_db, 7)
    assert provider.verify().ok  # re-signed with its own key: the provider's ledger alone cannot tell
    with pytest.raises(LedgerCorruptError, match="rewritten"):
        publish_checkpoint(provider, party=PROVIDER, exchange=exchange)
    if variant in ("same-size", "linked"):
        drop_latest(exchange)
        publish(provider, exchange)  # a new chain from the forged tree of size 20
        if variant == "linked":
            grow(provider, 5)
            publish(provider, exchange)  # 25, with a valid proof from the forged 20
    elif variant == "restarted":
        grow(provider, 5)
        drop_latest(exchange)
        publish(provider, exchange)  # 25 with no proof at all
    else:  # a forged 25 whose proof claims to start from the tree of 20 the witness kept
        grow(provider, 5)
        drop_latest(exchange)
        publish(provider, exchange)
        doc = json.loads(exchange.read_raw(published_path(PROVIDER)))
        top = doc["checkpoint"]
        doc["consistency_proof"] = {"kind": "pactline.ledger/consistency-proof/v1", "first_size": 20,
                                    "second_size": 25, "path": ["00" * 32, "11" * 32],
                                    "first_checkpoint": witnessed.kept.to_dict(), "second_checkpoint": top}
        exchange.write_json(published_path(PROVIDER), doc)

    result = look(recipient, exchange)
    assert not result.ok and result.problem == FORK, result.message
    expected = {"same-size": "another root for tree size 20", "linked": "another root for tree size 20",
                "restarted": "carries no consistency proof", "spliced": "does not verify"}[variant]
    assert expected in result.message
    assert result.kept == witnessed.kept
    assert witness_entries(recipient, "incident.opened")[-1].payload["problem"] == FORK


def test_swapped_signing_key_is_caught(provider, provider_db, recipient, exchange):
    grow(provider, 10)
    publish(provider, exchange)
    assert look(recipient, exchange).ok
    old = key_id(provider.public_key())

    mallory = Ed25519PrivateKey.generate()
    with Ledger.open(f"sqlite:///{provider_db}", signing_key=mallory, checkpoint_every=0) as forged:
        grow(forged, 2)
        with pytest.raises(LedgerConfigError, match="give every node the same key"):
            forged.checkpoint()  # the ledger itself refuses another key
        intruder(provider_db).execute("DELETE FROM ledger_checkpoints")
        forged.checkpoint()
        with pytest.raises(LedgerConfigError, match="would report a changed key"):
            publish_checkpoint(forged, party=PROVIDER, exchange=exchange)
        drop_latest(exchange)
        publish(forged, exchange)

    result = look(recipient, exchange)
    assert not result.ok and result.problem == KEY_CHANGED
    assert key_id(mallory) in result.message and old in result.message and "--accept-key" in result.message
    assert result.key_id == old  # still pinned

    # accepting the new key (as if confirmed out of band) does not accept a history that does not link up
    accepted = look(recipient, exchange, accept_key=key_id(mallory))
    assert not accepted.ok and accepted.problem == FORK


def test_bad_signature_is_caught(provider, recipient, exchange):
    grow(provider, 6)
    publish(provider, exchange)
    assert look(recipient, exchange).ok
    grow(provider, 3)
    publish(provider, exchange)

    doc = json.loads(exchange.read_raw(published_path(PROVIDER)))
    doc["checkpoint"]["tree_size"] = 10  # claims one more entry, signature kept
    doc["consistency_proof"]["second_checkpoint"]["tree_size"] = 10
    doc["consistency_proof"]["second_size"] = 10
    exchange.write_json(published_path(PROVIDER), doc)
    result = look(recipient, exchange)
    assert not result.ok and result.problem == BAD_SIGNATURE and "not signed by its pinned key" in result.message

    # a checkpoint signed by another key, published beside the pinned public key
    mallory = Ed25519PrivateKey.generate()
    cp = provider.latest_checkpoint()
    forged = sign_checkpoint(mallory, cp.origin, cp.tree_size, cp.root_hash, cp.timestamp)
    doc = json.loads(exchange.read_raw(published_path(PROVIDER, 9)))
    doc["checkpoint"] = doc["consistency_proof"]["second_checkpoint"] = forged.to_dict()
    exchange.write_json(published_path(PROVIDER), doc)
    assert look(recipient, exchange).problem == BAD_SIGNATURE


def test_nothing_published_and_removed_publication(provider, recipient, exchange):
    result = look(recipient, exchange)
    assert not result.ok and result.problem == MISSING and result.incident_index is None  # nothing ever trusted
    grow(provider, 3)
    publish(provider, exchange)
    assert look(recipient, exchange).ok
    exchange.delete(ledger_dir(PROVIDER), recursive=True)
    gone = look(recipient, exchange)
    assert not gone.ok and gone.problem == MISSING and gone.incident_index is not None and "removed" in gone.message


def test_concurrent_seals_publish_one_chain(provider_db, provider, recipient, exchange, tmp_path):
    grow(provider, 1)
    publish(provider, exchange)
    assert look(recipient, exchange).ok
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with Ledger.open(f"sqlite:///{provider_db}", home=tmp_path / "provider", checkpoint_every=0) as lg:
                for _ in range(5):
                    grow(lg, 2)
                    seal(lg, party=PROVIDER, exchange=exchange)
                    publish_checkpoint(lg, party=PROVIDER, exchange=exchange)  # raises if the chain broke
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    sizes = sorted(int(n.removesuffix(".json")) for n in exchange.ls(f"{ledger_dir(PROVIDER)}/checkpoints"))
    for before, after in itertools.pairwise(sizes):  # each proof starts where the one before ended
        assert read_published(PROVIDER, after, exchange=exchange).previous_tree_size == before
    result = look(recipient, exchange)
    assert result.ok and result.kept.tree_size == 41 and result.proofs_checked == len(sizes) - 1


def test_postgres_ledger_publishes_and_is_witnessed(pg_url, recipient, exchange, tmp_path):
    with Ledger.open(pg_url, home=tmp_path / "pg-provider", checkpoint_every=0) as lg:
        grow(lg, 3)
        publish(lg, exchange)
        assert look(recipient, exchange).ok
        grow(lg, 4)
        publish(lg, exchange)
        result = look(recipient, exchange)
        assert result.ok and result.kept.tree_size == 7 and result.proofs_checked == 1


# -- the command line ---------------------------------------------------------------------------


def test_verify_strict_fails_on_an_unsigned_tail_until_a_checkpoint(recipient, recipient_url, exchange, capsys):
    grow(recipient, 4)
    recipient.checkpoint()
    grow(recipient, 3)

    assert main(["ledger", "verify", "--url", recipient_url]) == 0
    out = capsys.readouterr().out
    assert "checkpoint at tree size 4" in out and "warning: 3 unsigned entries (4..6)" in out
    assert main(["ledger", "verify", "--url", recipient_url, "--strict"]) == 1
    assert "FAILED (--strict): 3 unsigned entries" in capsys.readouterr().err
    assert main(["ledger", "verify", "--url", recipient_url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["unsigned_entries"] == 3

    assert main(["ledger", "publish", "--url", recipient_url, "--party", RECIPIENT,
                 "--exchange", exchange.url]) == 0
    assert "published tree size 7 as fraud-lab" in capsys.readouterr().out
    assert main(["ledger", "verify", "--url", recipient_url, "--strict"]) == 0
    assert "every entry is covered by a signed checkpoint" in capsys.readouterr().out


def test_witness_command(provider, provider_db, recipient_url, exchange, capsys):
    grow(provider, 8)
    publish(provider, exchange)
    argv = ["ledger", "witness", "--party", PROVIDER, "--url", recipient_url, "--exchange", exchange.url]
    assert main(argv) == 0
    assert "ok: party nordbank: first seen at tree size 8" in capsys.readouterr().out

    intruder(provider_db).execute("DELETE FROM ledger_entries WHERE idx >= 5")
    intruder(provider_db).execute("DELETE FROM ledger_checkpoints WHERE tree_size > 5")
    drop_latest(exchange)
    publish(provider, exchange)
    assert main([*argv, "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["problem"] == TRUNCATED and result["kept"]["tree_size"] == 8 and result["incident_index"] is not None
    assert main(argv) == 1
    assert "FAILED: party nordbank: TRUNCATED" in capsys.readouterr().err


# -- sealed at the end of runs, purges and erasures ---------------------------------------------


@pytest.fixture
def plugin():
    name = "pactline_plugin"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "plugins" / "pactline_plugin.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def fake_run(dag_id="dsa-1", fingerprint=None, params=None, tags=("pactline",)):
    dag = types.SimpleNamespace(params=params or {}, tags=set(tags))
    if fingerprint:
        dag.fingerprint = fingerprint
    return types.SimpleNamespace(dag=dag, dag_id=dag_id, run_id="manual__2030-01-01")


def test_dag_run_end_records_the_run_and_leaves_no_unsigned_tail(plugin, pactline_home, monkeypatch):
    from pactline.recording import open_ledger

    monkeypatch.delenv("PACTLINE_EXCHANGE", raising=False)
    monkeypatch.setenv("PACTLINE_PARTY", PROVIDER)
    lg = open_ledger()
    grow(lg, 3)  # task.state and step entries of the run
    plugin.run_listener.on_dag_run_success(dag_run=fake_run(fingerprint="f" * 64), msg="success")
    last = lg.get(lg.size() - 1)
    assert last.event == "run.finished" and last.fingerprint == "f" * 64
    assert last.payload == {"run_id": "manual__2030-01-01", "state": "success", "reason": "success"}
    assert lg.verify().unsigned_entries == 0
    published = read_published(PROVIDER, exchange=open_exchange(str(pactline_home / "exchange")))
    assert published.checkpoint.tree_size == lg.size() == 4  # the embedded exchange, published on its own

    # a serialised DAG (what the scheduler holds) carries the fingerprint as a param
    grow(lg, 2)
    plugin.run_listener.on_dag_run_failed(dag_run=fake_run(params={"fingerprint": "e" * 64}), msg="task_failure")
    assert lg.get(lg.size() - 1).payload["state"] == "failed" and lg.verify().unsigned_entries == 0

    # Pactline's own DAGs (retention) are sealed without a run entry; other DAGs are left alone
    grow(lg, 1)
    size = lg.size()
    plugin.run_listener.on_dag_run_success(dag_run=fake_run(tags=["other"]), msg="success")
    assert lg.size() == size and lg.verify().unsigned_entries == 1
    plugin.run_listener.on_dag_run_success(dag_run=fake_run(dag_id="pactline_retention"), msg="success")
    assert lg.size() == size and lg.verify().unsigned_entries == 0


def test_pactline_run_seals_at_its_end(pactline_home, capsys):
    from pactline.cli.run_cmd import _seal_ledger
    from pactline.recording import open_ledger

    lg = open_ledger()
    grow(lg, 2)
    assert _seal_ledger()
    assert "ledger: checkpoint signed at tree size 2, published as embedded" in capsys.readouterr().out
    assert lg.verify().unsigned_entries == 0


def test_purge_and_erasure_end_sealed(pactline_home, tmp_path):
    import datetime as dt

    from pactline.recording import open_ledger
    from pactline.retention import run_erasure, run_purge
    from tests.conftest import signed_copy

    lg = open_ledger()
    grow(lg, 2)
    (tmp_path / "no-agreements").mkdir()
    run_purge(dt.date(2030, 1, 1), agreements=[tmp_path / "no-agreements"])
    assert lg.size() >= 2 and lg.verify().unsigned_entries == 0
    assert read_published("embedded", exchange=open_exchange(str(pactline_home / "exchange"))).checkpoint == \
        lg.latest_checkpoint()

    agreement = signed_copy(tmp_path / "agreements") / "fraud.yaml"
    size = lg.size()
    assert run_erasure(agreement, "nobody@example.com").replaced == []
    assert lg.size() > size and lg.verify().unsigned_entries == 0  # the request is recorded, and sealed


def test_event_names_are_listed():
    assert {"run.finished", "ledger.witnessed", "ledger.witness_failed"} <= set(EVENT_TYPES)


def test_witness_state_is_read_from_the_newest_entry(provider, recipient, exchange):
    grow(provider, 2)
    publish(provider, exchange)
    look(recipient, exchange)
    for _ in range(3):
        grow(provider, 1)
        publish(provider, exchange)
        assert look(recipient, exchange).ok
    kept = [e.payload["tree_size"] for e in witness_entries(recipient, "ledger.witnessed")]
    assert kept == [2, 3, 4, 5]
    assert look(recipient, exchange).kept == provider.latest_checkpoint()
