"""A real multi-process Airflow: scheduler, DAG processor, API server and two Celery workers on the
PostgreSQL and Redis of this machine, running a partitioned agreement.

Asserts that both workers took partitions, that the release equals a single-process run (dag.test)
of the same input (same rows, same pseudonyms), and that the ledger on PostgreSQL verifies and
holds every step's entries. Each worker has its own PACTLINE_HOME: keys come through Airflow
connections, the ledger, keyring and catalog from PostgreSQL, so nothing is shared through a
local file except the data root folder (the S3 test covers an object store).

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth) and Redis on 127.0.0.1:6379; it
fails, saying how to start them, when they are not there (.ci/run starts both).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, amend, load_generator, partitioned_fraud, read_release, split_csv

pytestmark = pytest.mark.slow
PG = "postgresql://postgres@127.0.0.1:5432"
REDIS = ("127.0.0.1", 6379)
DAG_ID = "fraud-detection"
PARTITIONS = 4
# random-looking, as every key must be (pactline.keys refuses repeated patterns and passphrases)
PSEUDONYM_KEY = "0c1f795389e4e24d87a8895e405be6e5853fc7d245e828ed215d157e8b4a3bdc"
KEK = "c4e21db9664bc076196bc8671fc2c78f2b8233a44cadc5adf17bc9cb20a45b46"
SIGNING_SEED = "8ebe5cf4ed034f5ff74c98822282a990d540e2e2fa89249b42ab6970f4853e35"
HOW_TO_START = (
    "start them with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start; "
    "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no "
    "(or run bash .ci/run, which starts both); see README 'Beyond one machine'"
)


def _require_services() -> None:
    problems = []
    try:
        import psycopg

        with psycopg.connect(f"{PG}/postgres", connect_timeout=3):
            pass
    except Exception as e:
        problems.append(f"PostgreSQL at 127.0.0.1:5432 (user postgres) is not reachable: {str(e).strip()[:200]}")
    try:
        with socket.create_connection(REDIS, timeout=3) as s:
            s.sendall(b"PING\r\n")
            if not s.recv(16).startswith(b"+PONG"):
                problems.append("Redis at 127.0.0.1:6379 did not answer PING")
    except OSError as e:
        problems.append(f"Redis at 127.0.0.1:6379 is not reachable: {e}")
    if problems:
        pytest.fail("the distributed test needs PostgreSQL and Redis: " + "; ".join(problems) + ". " + HOW_TO_START,
                    pytrace=False)


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(sql)


@contextlib.contextmanager
def _database(name: str):
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG}/{name}"
    finally:
        with contextlib.suppress(Exception):
            _admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
            _admin(f'DROP DATABASE IF EXISTS "{name}"')


def _redis(cmd: bytes) -> None:
    with socket.create_connection(REDIS, timeout=3) as s:
        s.sendall(cmd)
        s.recv(64)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _query(url: str, sql: str, *args) -> list[tuple]:
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as conn:
        return conn.execute(sql, args).fetchall()


def _transactions_only(path: Path) -> None:
    """The partitioned fraud agreement without the orders dataset: fewer tasks, the same mechanics."""
    text = path.read_text()
    text = text[:text.index("  - id: orders\n")] + text[text.index("restrictions:"):]
    text = text[:text.index("  - id: orders-release")] + text[text.index("retention:"):]
    text = "\n".join(line for line in text.splitlines() if "dataset: orders" not in line) + "\n"
    amend(path, text)


class Services:
    """Airflow processes, each in its own process group, with its log under the run folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen([str(Path(sys.executable).parent / "airflow"), *args], env=env,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def check_alive(self) -> None:
        for name, p in self.procs.items():
            if p.poll() is not None:
                raise AssertionError(f"airflow {name} exited with {p.returncode}:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.folder / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self) -> None:
        for p in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for p in self.procs.values():
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)


def _wait(what: str, check, timeout: float, services: Services, interval: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        services.check_alive()
        result = check()
        if result:
            return result
        time.sleep(interval)
    logs = "\n\n".join(f"== {n}\n{services.tail(n, 25)}" for n in services.procs)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{logs}")


def test_two_celery_workers_process_partitions(airflow_home, workspace, tmp_path, monkeypatch):
    _require_services()
    tag = secrets.token_hex(4)
    data = workspace / "data" / "fraud"
    load_generator().generate(workspace / "data", rows=400, seed=5)
    split_csv(data / "transactions.csv", data / "transactions_parts", PARTITIONS)
    agreements = workspace / "agreements"
    path = partitioned_fraud(agreements, "../data/fraud/transactions_parts/*.csv")
    _transactions_only(path)
    (agreements / "readmission.yaml").unlink()

    from pactline.agreement import load_agreement

    loaded = load_agreement(path)
    run_folder = tmp_path / "cluster"
    (run_folder / "hostname").mkdir(parents=True)
    (run_folder / "hostname" / "pactline_test_hostname.py").write_text(
        "import os\n\n\ndef name():\n    return os.environ['PACTLINE_TEST_WORKER']\n")
    redis_db = 1 + secrets.randbelow(15)
    services = Services(run_folder)
    with _database(f"pactline_af_{tag}") as af_db, _database(f"pactline_ledger_{tag}") as ledger_db:
        port = _free_port()
        af_sqlalchemy = af_db.replace("postgresql://", "postgresql+psycopg://", 1)
        conn = lambda hex_: json.dumps({"conn_type": "generic", "password": hex_})  # noqa: E731
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PACTLINE"))},
            "AIRFLOW_HOME": str(run_folder / "airflow"),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": af_sqlalchemy,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": af_sqlalchemy,  # psycopg 3 is async too (no asyncpg)
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{redis_db}",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{af_sqlalchemy}",
            "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
            "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "operators.celery_config.CELERY_CONFIG",  # preload pactline.warm
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "PYTHONPATH": os.pathsep.join([str(REPO), str(run_folder / "hostname")]),
            # Pactline: the shared services; secrets through Airflow connections
            "PACTLINE_AGREEMENTS": str(agreements),
            "PACTLINE_DATA_ROOT": str(run_folder / "data-root"),
            "PACTLINE_LEDGER_URL": ledger_db,
            "PACTLINE_LEDGER_SIGNING_KEY": SIGNING_SEED,
            # the agreement's own namespace: <agreement id>__<key name> (pactline.keys)
            "AIRFLOW_CONN_FRAUD-DETECTION__FRAUD_PSEUDONYM_KEY": conn(PSEUDONYM_KEY),
            "AIRFLOW_CONN_PACTLINE_KEK": conn(KEK),
        }
        try:
            migrate = subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], env={
                **env, "PACTLINE_HOME": str(run_folder / "home-cli")}, capture_output=True, timeout=180)
            assert migrate.returncode == 0, migrate.stdout.decode()[-3000:] + migrate.stderr.decode()[-3000:]
            for name, args in (("api-server", ["api-server", "--host", "127.0.0.1", "--port", str(port),
                                               "--workers", "1"]),
                               ("scheduler", ["scheduler"]), ("dag-processor", ["dag-processor"])):
                services.start(name, args, {**env, "PACTLINE_HOME": str(run_folder / f"home-{name}")})
            for worker in ("worker-a", "worker-b"):
                services.start(worker, ["celery", "worker", "--concurrency", "1", "--skip-serve-logs",
                                        "--celery-hostname", f"{worker}@%h", "--without-gossip", "--without-mingle"],
                               {**env, "PACTLINE_HOME": str(run_folder / f"home-{worker}"),
                                "PACTLINE_TEST_WORKER": worker,
                                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "pactline_test_hostname.name"})
            _wait("the DAG to be parsed", lambda: _query(
                af_db, "SELECT 1 FROM dag WHERE dag_id = %s AND NOT is_stale", DAG_ID), 120, services)
            _wait("the API server", lambda: _healthy(port), 60, services)
            run_id = f"distributed_{tag}"
            trigger = subprocess.run([str(Path(sys.executable).parent / "airflow"), "dags", "trigger", DAG_ID,
                                      "--run-id", run_id, "--conf", json.dumps({"as_of": "2027-01-01"})],
                                     env={**env, "PACTLINE_HOME": str(run_folder / "home-cli")},
                                     capture_output=True, timeout=120)
            assert trigger.returncode == 0, trigger.stderr.decode()[-3000:]
            state = _wait("the DAG run to finish", lambda: next(
                (s for (s,) in _query(af_db, "SELECT state FROM dag_run WHERE run_id = %s", run_id)
                 if s in ("success", "failed")), None), 240, services, interval=2)
            tis = _query(af_db, "SELECT task_id, map_index, state, hostname FROM task_instance WHERE run_id = %s",
                         run_id)
            failed = [(t, m) for t, m, s, _ in tis if s != "success"]
            assert state == "success", f"run {state}; not successful: {failed}\n" + "\n".join(
                f"== {n}\n{services.tail(n, 30)}" for n in ("worker-a", "worker-b", "scheduler"))
            for worker in ("worker-a", "worker-b"):  # the worker loaded spaCy (pactline.warm) before forking tasks
                maps = Path(f"/proc/{services.procs[worker].pid}/maps").read_text()
                assert "/spacy/" in maps, f"{worker} did not preload pactline.warm\n{services.tail(worker)}"
        finally:
            services.stop()
            with contextlib.suppress(OSError):
                _redis(f"SELECT {redis_db}\r\nFLUSHDB\r\n".encode())

        # both workers took partitions
        mapped = [(t, m, h) for t, m, _, h in tis if m >= 0]
        assert len(mapped) == 6 * PARTITIONS  # ingest, map_schema, scan_pii, check_quality, protect, release
        hosts = {h for _, _, h in mapped}
        assert hosts == {"worker-a", "worker-b"}, f"partitions ran on {hosts}"

        # the release equals a single-process run of the same input (same rows, same pseudonyms)
        from pactline.store import DataRoot

        with monkeypatch.context() as m:  # read it as a recipient would: the cluster's root, keyring and KEK
            m.setenv("PACTLINE_DATA_ROOT", str(run_folder / "data-root"))
            m.setenv("PACTLINE_LEDGER_URL", ledger_db)
            m.setenv("PACTLINE_SECRET_PACTLINE_KEK", KEK)
            manifest, distributed = read_release(loaded.id, "transactions-release", run_id, DataRoot())
        assert manifest["partitioned"] and len(manifest["inputs"]) == PARTITIONS
        assert sum(i["rows"] for i in manifest["inputs"]) == 400
        text = json.dumps(manifest)
        assert str(run_folder) not in text and str(workspace) not in text

        from tests.conftest import run_dag

        monkeypatch.setenv("PACTLINE_SECRET_FRAUD_DETECTION__FRAUD_PSEUDONYM_KEY", PSEUDONYM_KEY)
        single = run_dag(path)
        assert str(single.state).endswith("success"), single.state
        _, expected = read_release(loaded.id, "transactions-release", single.run_id)
        assert distributed.sort_by("transaction_id").equals(expected.sort_by("transaction_id"))

        # the ledger on PostgreSQL verifies and holds every partition's entries and every task's state
        from pactline.recording import open_ledger

        monkeypatch.setenv("PACTLINE_LEDGER_SIGNING_KEY", SIGNING_SEED)  # the cluster's checkpoint key
        ledger = open_ledger(ledger_db)
        verified = ledger.verify()
        assert verified.ok, verified.reason
        entries = [e for e in ledger.entries() if (e.payload or {}).get("run_id") == run_id]
        events = [e.event for e in entries]
        columns = len(loaded.agreement.dataset("transactions").columns)
        assert events.count("data.ingested") == PARTITIONS and events.count("schema.mapped") == PARTITIONS
        assert events.count("transform.applied") == PARTITIONS * columns
        assert events.count("release.published") == 1 and events.count("partitions.combined") == 1
        # no lost entries: one "success" per task instance, mapped ones included, from whichever worker
        from collections import Counter

        done = Counter((e.payload["task_id"], e.payload.get("map_index", -1)) for e in entries
                       if e.event == "task.state" and e.payload["state"] == "success")
        assert done == Counter((t, m) for t, m, _, _ in tis)
        recorded_hosts = {e.payload.get("hostname") for e in entries if e.event == "task.state"
                          and e.payload.get("map_index", -1) >= 0}
        assert recorded_hosts == {"worker-a", "worker-b"}  # the ledger says which worker ran each partition
    shutil.rmtree(run_folder, ignore_errors=True)


def _healthy(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=3) as r:
            return r.status == 200
    except OSError:
        return False
