"""The ledger on SQLite: API, keys, proofs, tamper detection by verify(), and the CLI."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pactline.cli.main import main as cli_main
from pactline.errors import PactlineError
from pactline.ledger import (
    EVENT_TYPES,
    EntryNotFoundError,
    InvalidEntryError,
    Ledger,
    LedgerConfigError,
    LedgerError,
    LedgerStorageError,
    ProofError,
    check_consistency_proof,
    check_inclusion_proof,
)
from pactline.ledger.checkpoint import sign_checkpoint
from pactline.ledger.entry import canonical_json, entry_content
from pactline.ledger.merkle import leaf_hash
from pactline.ledger.signing import public_key_pem

ENV_VARS = ("PACTLINE_LEDGER_URL", "PACTLINE_LEDGER_SIGNING_KEY", "PACTLINE_LEDGER_CHECKPOINT_EVERY")
SIZE, EVERY = 30, 10  # checkpoints at 10, 20, 30


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PACTLINE_HOME", str(tmp_path / "home"))
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "ledger.sqlite"


@pytest.fixture
def ledger(db: Path) -> Iterator[Ledger]:
    with Ledger.open(f"sqlite:///{db}", checkpoint_every=EVERY) as lg:
        for i in range(SIZE):
            lg.append(
                EVENT_TYPES[i % len(EVENT_TYPES)],
                agreement_id="dsa-hospital-a" if i % 2 else "dsa-insurer-b",
                fingerprint="ab" * 32,
                actor=None if i % 3 else f"user{i}",
                payload={"n": i, "note": f"row {i}", "ünï": "çødé", "nested": {"list": [1, 2.5, None, True]}},
            )
        yield lg


# -- tampering helpers: what someone with write access to the database file could do ---------


def raw(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db, isolation_level=None)
    for trigger in ("entries_no_update", "entries_no_delete", "checkpoints_no_update", "checkpoints_no_delete"):
        conn.execute(f"DROP TRIGGER IF EXISTS ledger_{trigger}")  # the attacker removes the guard rails
    return conn


def attacker_leaf(index: int, row: tuple) -> bytes:
    """Leaf hash recomputed with the published encoding, as a careful forger would."""
    ts, event, agreement_id, fingerprint, actor, payload = row
    content = entry_content(index, ts, event, agreement_id, fingerprint, actor, json.loads(payload))
    return leaf_hash(canonical_json(content).encode())


def row_of(conn: sqlite3.Connection, index: int) -> tuple:
    return conn.execute(
        "SELECT ts, event, agreement_id, fingerprint, actor, payload FROM ledger_entries WHERE idx = ?", (index,)
    ).fetchone()


def shift(conn: sqlite3.Connection, start: int, by: int) -> None:
    # Two steps through negative indexes so the primary key never collides mid-update.
    conn.execute("UPDATE ledger_entries SET idx = -(idx + ?) - 1 WHERE idx >= ?", (by, start))
    conn.execute("UPDATE ledger_entries SET idx = -idx - 1 WHERE idx < 0")


# -- API --------------------------------------------------------------------------------------


def test_append_assigns_contiguous_indexes_and_reads_back(ledger: Ledger) -> None:
    assert ledger.size() == SIZE
    entries = list(ledger.entries())
    assert [e.index for e in entries] == list(range(SIZE))
    e = ledger.get(7)
    assert e == entries[7]
    assert e.payload == {"n": 7, "note": "row 7", "ünï": "çødé", "nested": {"list": [1, 2.5, None, True]}}
    assert e.timestamp.endswith("Z") and e.timestamp[:4].isdigit()
    assert e.leaf_hash == e.computed_leaf_hash() == leaf_hash(e.canonical_bytes())
    # canonical encoding: sorted keys, no spaces, UTF-8 without escapes, leaf hash excluded
    text = e.canonical_bytes().decode()
    assert text.startswith('{"actor":null,"agreement_id":"dsa-hospital-a","event":')
    assert '"ünï":"çødé"' in text and " " not in text.replace("row 7", "") and "leaf_hash" not in text
    assert [e.index for e in ledger.entries(5, 3)] == [5, 6, 7]
    assert [e.index for e in ledger.entries(25)] == [25, 26, 27, 28, 29]
    assert {e.agreement_id for e in ledger.entries(agreement_id="dsa-insurer-b")} == {"dsa-insurer-b"}
    first = EVENT_TYPES[0]  # the fixture cycles through EVENT_TYPES: the first type comes back at len(EVENT_TYPES)
    picked = [i for i in range(SIZE) if EVENT_TYPES[i % len(EVENT_TYPES)] == first]
    assert len(picked) >= 2 and [e.index for e in ledger.entries(event=first)] == picked
    with pytest.raises(EntryNotFoundError):
        ledger.get(SIZE)


def test_append_normalises_and_refuses_bad_input_without_echoing_values(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    e = ledger.append("data.ingested", agreement_id="x", payload={"t": (1, 2)})
    assert e.payload == {"t": [1, 2]} and ledger.get(e.index).payload == e.payload

    class Secret:
        def __repr__(self) -> str:
            return "hunter2"

    bad = [
        ({"event": ""}, "event"),
        ({"agreement_id": None}, "agreement_id"),
        ({"actor": 5}, "actor"),
        ({"payload": {"password": Secret()}}, "payload.password"),
        ({"payload": {"x": float("nan")}}, "NaN"),
        ({"payload": {1: "a"}}, "keys must be strings"),
        ({"payload": ["not", "a", "dict"]}, "mapping"),
        ({"payload": {"s": "\ud800"}}, "Unicode"),
    ]
    caplog.set_level(logging.DEBUG)
    for override, message in bad:
        kwargs = {"event": "check.result", "agreement_id": "x", **override}
        with pytest.raises(InvalidEntryError, match=message) as info:
            ledger.append(**kwargs)
        assert "hunter2" not in str(info.value)
    ledger.append("approval", agreement_id="x", payload={"token": "hunter2"})
    assert "hunter2" not in caplog.text
    assert ledger.size() == SIZE + 2  # nothing half-written by the refused appends
    assert issubclass(InvalidEntryError, LedgerError) and issubclass(LedgerError, PactlineError)


def test_checkpoints_every_n_and_on_demand(ledger: Ledger) -> None:
    cp = ledger.latest_checkpoint()
    assert cp is not None and cp.tree_size == 30
    ledger.append("task.state", agreement_id="x")
    assert ledger.latest_checkpoint() == cp
    on_demand = ledger.checkpoint()
    assert on_demand.tree_size == 31 and ledger.checkpoint() == on_demand  # idempotent per size
    assert on_demand.signature_valid(ledger.public_key())
    assert on_demand.origin == ledger.origin
    past = ledger.checkpoint(15)
    assert past.tree_size == 15 and ledger.verify().ok
    result = ledger.verify()
    assert result.checkpoints_checked == 5 and result.latest_checkpoint == on_demand


def test_frontier_reuse_matches_full_recompute(db: Path) -> None:
    # Checkpoints extend the previous checkpoint's stored frontier; an auditor recomputes all.
    with Ledger.open(f"sqlite:///{db}", checkpoint_every=7) as lg:
        for i in range(100):
            lg.append("task.state", agreement_id="a", payload={"i": i})
        result = lg.verify()
    assert result.ok and result.checkpoints_checked == 14 and result.latest_checkpoint.tree_size == 98


def test_inclusion_proof_checks_with_public_key_alone(ledger: Ledger) -> None:
    proof = ledger.prove_inclusion(13)
    assert proof.tree_size == 30 and proof.entry == ledger.get(13)
    pem = ledger.public_key_pem()
    text = proof.to_json()
    assert check_inclusion_proof(text, pem) is True
    data = json.loads(text)
    assert set(data) == {"kind", "leaf_index", "tree_size", "leaf_hash", "audit_path", "entry", "checkpoint"}

    def tampered(change) -> dict:
        d = json.loads(text)
        change(d)
        return d

    other_key = public_key_pem(Ed25519PrivateKey.generate())
    cases = {
        "entry altered": tampered(lambda d: d["entry"]["payload"].update(n=14)),
        "audit path": tampered(lambda d: d["audit_path"].__setitem__(0, "00" * 32)),
        "not signed": tampered(lambda d: d["checkpoint"].update(root_hash="11" * 32)),
        "tree size": tampered(lambda d: d.update(tree_size=31)),
        "leaf_index": tampered(lambda d: d.update(leaf_index=12)),
    }
    for reason, bad in cases.items():
        with pytest.raises(ProofError, match=reason):
            check_inclusion_proof(json.dumps(bad), pem)
    with pytest.raises(ProofError, match="names key"):
        check_inclusion_proof(text, other_key)
    with pytest.raises(ProofError, match="not JSON"):
        check_inclusion_proof("{", pem)


def test_prove_signs_a_checkpoint_when_none_covers_the_entry(ledger: Ledger) -> None:
    entry = ledger.append("release", agreement_id="x", payload={"version": 3})
    proof = ledger.prove_inclusion(entry.index)
    assert proof.tree_size == SIZE + 1 == ledger.latest_checkpoint().tree_size
    assert check_inclusion_proof(proof.to_dict(), ledger.public_key_pem())
    old = ledger.prove_inclusion(3, tree_size=10)
    assert old.checkpoint.tree_size == 10 and check_inclusion_proof(old, ledger.public_key())
    with pytest.raises(EntryNotFoundError):
        ledger.prove_inclusion(10, tree_size=10)
    with pytest.raises(EntryNotFoundError):
        ledger.prove_inclusion(999)


def test_consistency_proof(ledger: Ledger) -> None:
    proof = ledger.prove_consistency(7, 20)
    pem = ledger.public_key_pem()
    assert check_consistency_proof(proof.to_json(), pem)
    assert check_consistency_proof(ledger.prove_consistency(20).to_dict(), pem)  # up to the whole ledger
    d = proof.to_dict()
    d["path"][1] = "00" * 32
    with pytest.raises(ProofError, match="prefix"):
        check_consistency_proof(d, pem)
    with pytest.raises(EntryNotFoundError):
        ledger.prove_consistency(0, 20)


# -- keys and configuration -----------------------------------------------------------------


def test_signing_key_file_is_created_private_and_reused(home: Path, db: Path) -> None:
    with Ledger.open(f"sqlite:///{db}") as lg:
        assert not (home / "ledger" / "signing_key.pem").exists()  # not until something is signed
        pem = lg.public_key_pem()
    key_file = home / "ledger" / "signing_key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with Ledger.open(f"sqlite:///{db}") as lg:
        assert lg.public_key_pem() == pem


def test_signing_key_from_env_hex_or_pem(monkeypatch: pytest.MonkeyPatch, db: Path, home: Path) -> None:
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    for value in (seed.hex(), pem.decode()):
        monkeypatch.setenv("PACTLINE_LEDGER_SIGNING_KEY", value)
        with Ledger.open(f"sqlite:///{db}") as lg:
            assert lg.public_key_pem() == public_key_pem(key)
    assert not (home / "ledger").exists()
    monkeypatch.setenv("PACTLINE_LEDGER_SIGNING_KEY", "not a key")
    with Ledger.open(f"sqlite:///{db}") as lg, pytest.raises(LedgerConfigError, match="Ed25519"):
        lg.checkpoint()


def test_url_from_env_default_and_bad_urls(monkeypatch: pytest.MonkeyPatch, home: Path, tmp_path: Path) -> None:
    with Ledger.open() as lg:
        lg.append("approval", agreement_id="x")
    assert (home / "ledger.sqlite").exists()
    monkeypatch.setenv("PACTLINE_LEDGER_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    with Ledger.open() as lg:
        assert lg.size() == 0 and lg.url.endswith("env.sqlite")
    with pytest.raises(LedgerConfigError, match="unknown scheme"):
        Ledger.open("mysql://u:secret@host/db")
    with pytest.raises(LedgerConfigError):
        Ledger.open("sqlite://relative-without-third-slash")
    with pytest.raises(LedgerStorageError, match="x:\\*\\*\\*@"):  # the password never shows
        Ledger.open("postgresql://x:secret@127.0.0.1:1/none")


def test_database_refuses_updates_through_normal_access(ledger: Ledger, db: Path) -> None:
    conn = sqlite3.connect(db)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE ledger_entries SET actor = 'mallory' WHERE idx = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM ledger_checkpoints")


def test_threads_sharing_one_ledger_lose_nothing(db: Path) -> None:
    with Ledger.open(f"sqlite:///{db}") as shared, Ledger.open(f"sqlite:///{db}") as other:

        def work(lg: Ledger, n: int) -> None:
            for i in range(100):
                lg.append("task.state", agreement_id="a", payload={"thread": n, "i": i})

        threads = [threading.Thread(target=work, args=(shared if n % 2 else other, n)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [e.index for e in shared.entries()] == list(range(800))
        assert len({(e.payload["thread"], e.payload["i"]) for e in shared.entries()}) == 800
        result = shared.verify()
        assert result.ok and result.checkpoints_checked == 8


def test_auditor_verifies_with_public_key_only(ledger: Ledger, db: Path, home: Path, monkeypatch) -> None:
    pem = ledger.public_key_pem()
    monkeypatch.setenv("PACTLINE_HOME", str(home.parent / "auditor"))
    with Ledger.open(f"sqlite:///{db}") as audit:
        with pytest.raises(LedgerConfigError, match="public key"):
            audit.verify()
        assert audit.verify(pem).ok
        other = public_key_pem(Ed25519PrivateKey.generate())
        result = audit.verify(other)
        assert not result.ok and result.bad_checkpoint_size == 10
    assert not (home.parent / "auditor").exists()  # verifying created no key


# -- tamper detection -----------------------------------------------------------------------


def test_clean_ledger_verifies(ledger: Ledger) -> None:
    result = ledger.verify()
    assert result.ok and result.size == SIZE and result.first_bad_index is None and result.reason is None
    assert result.checkpoints_checked == 3 and result.latest_checkpoint.tree_size == 30


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("UPDATE ledger_entries SET payload = replace(payload, '\"n\":13', '\"n\":14') WHERE idx = 13", "altered"),
        ("UPDATE ledger_entries SET payload = replace(payload, 'row 13', 'row 1x') WHERE idx = 13", "altered"),
        ("UPDATE ledger_entries SET payload = replace(payload, ',', ', ') WHERE idx = 13", "canonical"),
        ("UPDATE ledger_entries SET payload = substr(payload, 2) WHERE idx = 13", "not valid JSON"),
        ("UPDATE ledger_entries SET actor = 'mallory' WHERE idx = 13", "altered"),
        ("UPDATE ledger_entries SET event = 'approvaL' WHERE idx = 13", "altered"),
        ("UPDATE ledger_entries SET ts = replace(ts, '.', ',') WHERE idx = 13", "altered"),
        ("UPDATE ledger_entries SET fingerprint = NULL WHERE idx = 13", "altered"),
        ("UPDATE ledger_entries SET leaf_hash = zeroblob(32) WHERE idx = 13", "altered"),
    ],
)
def test_edited_entry_is_found(ledger: Ledger, db: Path, sql: str, reason: str) -> None:
    raw(db).execute(sql)
    result = ledger.verify()
    assert not result.ok and result.first_bad_index == 13 and reason in result.reason
    assert "entry 13" in result.reason
    assert result.latest_checkpoint.tree_size == 10  # the last checkpoint before the damage


def test_every_single_byte_edit_of_a_payload_is_found(ledger: Ledger, db: Path) -> None:
    conn = raw(db)
    (original,) = conn.execute("SELECT payload FROM ledger_entries WHERE idx = 21").fetchone()
    data = original.encode()
    for pos in range(len(data)):
        edited = (data[:pos] + bytes([data[pos] ^ 1]) + data[pos + 1 :]).decode(errors="replace")
        conn.execute("UPDATE ledger_entries SET payload = ? WHERE idx = 21", (edited,))
        result = ledger.verify()
        assert (result.ok, result.first_bad_index) == (False, 21), pos
    conn.execute("UPDATE ledger_entries SET payload = ? WHERE idx = 21", (original,))
    assert ledger.verify().ok


def test_edit_with_rewritten_leaf_hash_is_caught_by_the_signed_root(ledger: Ledger, db: Path) -> None:
    conn = raw(db)
    conn.execute("UPDATE ledger_entries SET actor = 'mallory' WHERE idx = 13")
    conn.execute("UPDATE ledger_entries SET leaf_hash = ? WHERE idx = 13", (attacker_leaf(13, row_of(conn, 13)),))
    result = ledger.verify()
    # Without the stored hash to compare, the signed root bounds it to the entries since checkpoint 10.
    assert not result.ok and result.first_bad_index == 10 and "10..19" in result.reason


def test_deleted_entry_is_found(ledger: Ledger, db: Path) -> None:
    raw(db).execute("DELETE FROM ledger_entries WHERE idx = 7")
    result = ledger.verify()
    assert not result.ok and result.first_bad_index == 7 and "missing" in result.reason


def test_deleted_entry_with_later_ones_renumbered_is_found(ledger: Ledger, db: Path) -> None:
    conn = raw(db)
    conn.execute("DELETE FROM ledger_entries WHERE idx = 7")
    shift(conn, 8, -1)
    result = ledger.verify()
    assert not result.ok and result.first_bad_index == 7 and "deleted" in result.reason


def test_deleted_tail_covered_by_a_checkpoint_is_found(ledger: Ledger, db: Path) -> None:
    raw(db).execute("DELETE FROM ledger_entries WHERE idx >= 27")
    result = ledger.verify()
    assert not result.ok and result.first_bad_index == 27 and "27..29" in result.reason


def test_swapped_entries_are_found(ledger: Ledger, db: Path) -> None:
    conn = raw(db)
    cols = "ts, event, agreement_id, fingerprint, actor, payload, leaf_hash"
    a = conn.execute(f"SELECT {cols} FROM ledger_entries WHERE idx = 4").fetchone()
    b = conn.execute(f"SELECT {cols} FROM ledger_entries WHERE idx = 16").fetchone()
    sets = ", ".join(f"{c} = ?" for c in cols.split(", "))
    conn.execute(f"UPDATE ledger_entries SET {sets} WHERE idx = 4", b)
    conn.execute(f"UPDATE ledger_entries SET {sets} WHERE idx = 16", a)
    result = ledger.verify()
    assert not result.ok and result.first_bad_index == 4


def test_swapped_neighbours_keeping_leaf_hashes_are_found(ledger: Ledger, db: Path) -> None:
    conn = raw(db)
    cols = "ts, event, agreement_id, fingerprint, actor, payload"
    a, b = row_of(conn, 8), row_of(conn, 9)
    sets = ", ".join(f"{c} = ?" for c in cols.split(", "))
    conn.execute(f"UPDATE ledger_entries SET {sets} WHERE idx = 8", b)
    conn.execute(f"UPDATE ledger_entries SET {sets} WHERE idx = 9", a)
    result = ledger.verify()
    assert not result.ok and result.first_bad_index == 8


@pytest.mark.parametrize("careful", [True, False])
def test_inserted_entry_is_found(ledger: Ledger, db: Path, careful: bool) -> None:
    conn = raw(db)
    shift(conn, 12, +1)
    forged = ("2030-01-01T00:00:00.000000Z", "approval", "dsa-hospital-a", None, "mallory", '{"ok":true}')
    leaf = attacker_leaf(12, forged) if careful else b"\x00" * 32
    conn.execute(
        "INSERT INTO ledger_entries (idx, ts, event, agreement_id, fingerprint, actor, payload, leaf_hash) "
        "VALUES (12, ?, ?, ?, ?, ?, ?, ?)",
        (*forged, leaf),
    )
    result = ledger.verify()
    assert not result.ok and result.first_bad_index == 12
    assert ("inserted" if careful else "altered") in result.reason


def test_forged_checkpoint_root_is_found(ledger: Ledger, db: Path) -> None:
    raw(db).execute("UPDATE ledger_checkpoints SET root_hash = zeroblob(32) WHERE tree_size = 20")
    result = ledger.verify()
    assert not result.ok and result.bad_checkpoint_size == 20 and result.first_bad_index is None
    assert "forged or altered" in result.reason and result.latest_checkpoint.tree_size == 10


def test_checkpoint_signed_by_another_key_is_found(ledger: Ledger, db: Path) -> None:
    # Mallory rewrites entry 13, its leaf hash, and re-signs the checkpoints with her own key.
    conn = raw(db)
    conn.execute("UPDATE ledger_entries SET actor = 'mallory' WHERE idx = 13")
    conn.execute("UPDATE ledger_entries SET leaf_hash = ? WHERE idx = 13", (attacker_leaf(13, row_of(conn, 13)),))
    from pactline.ledger.merkle import root

    leaves = [bytes(r[0]) for r in conn.execute("SELECT leaf_hash FROM ledger_entries ORDER BY idx")]
    mallory = Ed25519PrivateKey.generate()
    for size in (20, 30):
        cp = sign_checkpoint(mallory, ledger.origin, size, root(leaves, size), "2030-01-01T00:00:00Z")
        conn.execute(
            "UPDATE ledger_checkpoints SET root_hash = ?, key_id = ?, signature = ? WHERE tree_size = ?",
            (cp.root_hash, cp.key_id, cp.signature, size),
        )
    result = ledger.verify()
    assert not result.ok and result.bad_checkpoint_size == 20 and "names key" in result.reason
    # Even a copied genuine key id does not help: the signature is what is checked.
    conn.execute("UPDATE ledger_checkpoints SET key_id = (SELECT key_id FROM ledger_checkpoints WHERE tree_size = 10)")
    result = ledger.verify()
    assert not result.ok and result.bad_checkpoint_size == 20 and "bad signature" in result.reason


def test_deleted_checkpoint_leaves_the_rest_verifiable(ledger: Ledger, db: Path) -> None:
    # Checkpoints are attestations: losing one weakens coverage but is not an entry problem.
    raw(db).execute("DELETE FROM ledger_checkpoints WHERE tree_size = 20")
    result = ledger.verify()
    assert result.ok and result.checkpoints_checked == 2


def test_proof_is_refused_when_the_store_was_tampered(ledger: Ledger, db: Path) -> None:
    conn = raw(db)
    conn.execute("UPDATE ledger_entries SET actor = 'mallory' WHERE idx = 13")
    conn.execute("UPDATE ledger_entries SET leaf_hash = ? WHERE idx = 13", (attacker_leaf(13, row_of(conn, 13)),))
    with pytest.raises(LedgerError, match="verify"):
        ledger.prove_inclusion(13)


# -- CLI ----------------------------------------------------------------------------------------


def test_cli_verify_exit_codes(ledger: Ledger, db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{db}"
    assert cli_main(["ledger", "verify", "--url", url]) == 0
    assert "ok: 30 entries, 3 checkpoints verified" in capsys.readouterr().out
    assert cli_main(["ledger", "verify", "--url", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    raw(db).execute("UPDATE ledger_entries SET payload = replace(payload, 'row 13', 'row 31') WHERE idx = 13")
    assert cli_main(["ledger", "verify", "--url", url]) == 1
    assert "FAILED at entry 13" in capsys.readouterr().err
    assert cli_main(["ledger", "verify", "--url", url, "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["first_bad_index"] == 13
    assert cli_main(["ledger", "verify", "--url", "nosuch://x"]) == 2


def test_cli_tail_checkpoint_and_public_key(ledger: Ledger, db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{db}"
    assert cli_main(["ledger", "tail", "-n", "3", "--url", url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["27", "28", "29"]
    assert cli_main(["ledger", "tail", "-n", "2", "--url", url, "--json"]) == 0
    assert [json.loads(line)["index"] for line in capsys.readouterr().out.splitlines()] == [28, 29]
    ledger.append("purge", agreement_id="x")
    assert cli_main(["ledger", "checkpoint", "--url", url]) == 0
    assert json.loads(capsys.readouterr().out)["tree_size"] == 31
    assert cli_main(["ledger", "public-key"]) == 0
    assert capsys.readouterr().out == ledger.public_key_pem()


def test_cli_prove_then_check_proof_with_only_the_proof_and_key(
    ledger: Ledger, db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{db}"
    ledger.append("erasure", agreement_id="dsa-hospital-a", payload={"subject": "pseudonym-42"})
    assert cli_main(["ledger", "prove", "30", "--url", url]) == 0
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(capsys.readouterr().out)
    assert json.loads(proof_file.read_text())["tree_size"] == 31  # a checkpoint was signed to cover it
    key_file = tmp_path / "ledger.pub.pem"
    key_file.write_text(ledger.public_key_pem())

    # The counterparty: another process, no ledger, no PACTLINE_HOME, no signing key.
    counterparty = tmp_path / "counterparty"
    counterparty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PACTLINE_")}
    env["PACTLINE_HOME"] = str(counterparty / "home")

    def check(proof: Path) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "pactline.cli.main", "ledger", "check-proof", str(proof), "--public-key"]
        return subprocess.run([*cmd, str(key_file)], cwd=counterparty, env=env, capture_output=True, text=True)

    done = check(proof_file)
    assert done.returncode == 0, done.stderr
    assert "valid: entry 30 (erasure)" in done.stdout
    forged = json.loads(proof_file.read_text())
    forged["entry"]["payload"]["subject"] = "pseudonym-43"
    forged_file = tmp_path / "forged.json"
    forged_file.write_text(json.dumps(forged))
    done = check(forged_file)
    assert done.returncode == 1 and "invalid" in done.stderr
    assert not any(counterparty.iterdir())  # checking needed and created nothing
    # a consistency proof goes through the same command
    consistency = tmp_path / "consistency.json"
    consistency.write_text(ledger.prove_consistency(10, 31).to_json())
    assert check(consistency).returncode == 0


def test_opening_a_missing_ledger_without_create_fails_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere" / "ledger.sqlite"
    with pytest.raises(LedgerConfigError, match="no ledger"):
        Ledger.open(f"sqlite:///{missing}", create=False)
    assert cli_main(["ledger", "verify", "--url", f"sqlite:///{missing}"]) == 2
    assert "no ledger" in capsys.readouterr().err
    assert not missing.parent.exists()  # an empty ledger would have verified as "ok"


def test_a_node_with_another_signing_key_is_refused(ledger: Ledger, db: Path) -> None:
    with Ledger.open(f"sqlite:///{db}", signing_key=Ed25519PrivateKey.generate(), checkpoint_every=1) as stray:
        with pytest.raises(LedgerConfigError, match="give every node the same key"):
            stray.append("approval", agreement_id="x")
        with pytest.raises(LedgerConfigError):
            stray.checkpoint(15)  # a size nobody signed yet
    assert ledger.size() == SIZE and ledger.verify().ok  # the refused append left nothing behind
