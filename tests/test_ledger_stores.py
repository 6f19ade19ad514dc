"""Both storage backends, real SQLite and real PostgreSQL: the same behaviour, and concurrent
appends from 8 processes that lose nothing and keep one gap-free order.

PostgreSQL is expected at 127.0.0.1:5432 (trust auth, user postgres); override with
PACTLINE_TEST_POSTGRES_URL (a URL to any existing database on the server). Each test gets a
throwaway schema in the database `pactline_test`, dropped afterwards.
"""

from __future__ import annotations

import itertools
import multiprocessing
import sqlite3
from pathlib import Path

import psycopg
import pytest

from pactline.ledger import Ledger, LedgerConfigError, check_inclusion_proof

PROCESSES = 8
PER_PROCESS = {"sqlite": 1000, "postgres": 250}  # Postgres commits cost more on a loaded box


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    if request.param == "sqlite":
        return "sqlite", f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    return "postgres", request.getfixturevalue("pg_url")


def raw_execute(url: str, sql: str) -> None:
    """Run SQL straight against the store, append-only guard rails off, as an intruder would."""
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None) as conn:
            conn.execute("DROP TRIGGER IF EXISTS ledger_entries_no_update")
            conn.execute("DROP TRIGGER IF EXISTS ledger_entries_no_delete")
            conn.execute(sql)
        return
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER TABLE ledger_entries DISABLE TRIGGER USER")
        conn.execute(sql)


def test_same_behaviour_on_both_backends(backend: tuple[str, str]) -> None:
    _, url = backend
    with Ledger.open(url, checkpoint_every=5) as lg:
        for i in range(12):
            lg.append("check.result", agreement_id="dsa-1", actor="steward", payload={"i": i, "name": "Zoë"})
        assert lg.size() == 12 and [e.index for e in lg.entries()] == list(range(12))
        assert lg.get(11).payload == {"i": 11, "name": "Zoë"}
        assert lg.latest_checkpoint().tree_size == 10
        proof = lg.prove_inclusion(11)
        assert proof.tree_size == 12 and check_inclusion_proof(proof.to_json(), lg.public_key_pem())
        assert lg.verify().ok
        origin = lg.origin
    with Ledger.open(url) as again:  # reopening keeps the ledger's identity
        assert again.origin == origin and again.size() == 12

        raw_execute(url, "UPDATE ledger_entries SET payload = replace(payload, 'Zoë', 'Zoe') WHERE idx = 6")
        result = again.verify()
        assert not result.ok and result.first_bad_index == 6 and "altered" in result.reason
        raw_execute(url, "UPDATE ledger_entries SET payload = replace(payload, 'Zoe', 'Zoë') WHERE idx = 6")
        assert again.verify().ok

        raw_execute(url, "DELETE FROM ledger_entries WHERE idx = 3")
        result = again.verify()
        assert not result.ok and result.first_bad_index == 3 and "missing" in result.reason


def test_postgres_missing_ledger_is_not_created_without_create(pg_url: str) -> None:
    with pytest.raises(LedgerConfigError, match="no ledger"):
        Ledger.open(pg_url, create=False)
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT to_regclass('ledger_entries')").fetchone()[0] is None


def test_postgres_store_refuses_updates(pg_url: str) -> None:
    with Ledger.open(pg_url) as lg:
        lg.append("approval", agreement_id="dsa-1")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for sql in ("UPDATE ledger_entries SET actor = 'x'", "DELETE FROM ledger_entries", "TRUNCATE ledger_entries"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(sql)


def _append_worker(url: str, worker: int, count: int) -> None:
    # Runs in a spawned process: opens its own ledger (racing the others to create the schema
    # and the signing key) and appends as fast as it can.
    with Ledger.open(url) as lg:
        for i in range(count):
            lg.append("task.state", agreement_id="dsa-1", actor=f"worker-{worker}", payload={"w": worker, "i": i})


def test_eight_processes_append_without_loss_or_gaps(backend: tuple[str, str]) -> None:
    name, url = backend
    per = PER_PROCESS[name]
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_worker, args=(url, w, per)) for w in range(PROCESSES)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * PROCESSES

    total = PROCESSES * per
    with Ledger.open(url) as lg:
        entries = list(lg.entries())
        assert lg.size() == total and [e.index for e in entries] == list(range(total))
        seen = [(e.payload["w"], e.payload["i"]) for e in entries]
        assert sorted(seen) == [(w, i) for w in range(PROCESSES) for i in range(per)]
        for w in range(PROCESSES):  # each process's appends keep their own order
            assert [i for (x, i) in seen if x == w] == list(range(per))
        assert all(a.timestamp <= b.timestamp for a, b in itertools.pairwise(entries))
        result = lg.verify()
        assert result.ok, result.reason
        assert result.size == total and result.checkpoints_checked == total // 100
