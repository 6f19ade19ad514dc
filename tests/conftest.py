"""Shared fixtures. Every test gets its own PACTLINE_HOME (keys, ledger, data root) under tmp_path."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
AGREEMENTS = REPO / "include" / "agreements"

# Airflow reads its configuration once, at first import: point it at a throwaway home before
# any test imports it, so tests never touch the project's own .airflow/.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="pactline-test-airflow-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO / "plugins")
os.environ.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)


def load_generator():
    spec = importlib.util.spec_from_file_location("generate_sample_data", REPO / "include" / "generate_sample_data.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate_sample_data"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def pactline_home(tmp_path, monkeypatch):
    home = tmp_path / "pactline-home"
    monkeypatch.setenv("PACTLINE_HOME", str(home))
    monkeypatch.delenv("PACTLINE_DATA_ROOT", raising=False)
    for name in ("PACTLINE_LEDGER_URL", "PACTLINE_KEYRING_URL", "PACTLINE_CATALOG_URL", "PACTLINE_SECRET_PACTLINE_KEK"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def example_text():
    def read(name: str = "readmission") -> str:
        return (AGREEMENTS / f"{name}.yaml").read_text()
    return read


def sign_all(path: str | Path) -> None:
    """Every party of the agreement gets a key in this test's PACTLINE_HOME and signs its current version
    (what `make demo` does with its local demo keys)."""
    from pactline.cli.main import main

    assert main(["keys", "new", "--agreement", str(path), "--all-parties", "--if-missing"]) == 0
    assert main(["sign", str(path), "--all-local"]) == 0


_amendments = iter(range(1, 1_000_000))


def amend(path: str | Path, text: str) -> None:
    """Write an amended agreement under a new version number (a signed number never takes another text)
    and sign it for every party."""
    text, n = re.subn(r'(?m)^(  version: )"?[0-9.]+"?$', rf'\g<1>"90.{next(_amendments)}.0"', text, count=1)
    assert n == 1, "the agreement text has no metadata.version line"
    Path(path).write_text(text)
    sign_all(path)


def signed_copy(folder: Path) -> Path:
    """The example agreements copied to `folder` (without keys or signatures a `make demo` left in the repo),
    each signed by every party with keys under the current PACTLINE_HOME."""
    shutil.copytree(AGREEMENTS, folder, ignore=shutil.ignore_patterns("keys", "*.sig"))
    for path in sorted(folder.glob("*.yaml")):
        sign_all(path)
    return folder


@pytest.fixture
def workspace(tmp_path):
    """A copy of the example agreements, signed by every party, with freshly generated sample data beside them."""
    ws = tmp_path / "ws"
    signed_copy(ws / "agreements")
    load_generator().generate(ws / "data", rows=300, seed=11)
    return ws


@pytest.fixture(scope="session")
def airflow_home():
    """A migrated SQLite Airflow metadata DB shared by the DAG tests of this session."""
    from airflow.utils.db import upgradedb

    upgradedb()
    return Path(_AIRFLOW_HOME)


# -- PostgreSQL: one database for the test suite, a throwaway schema per test -------------------

PG_ADMIN_URL = os.environ.get("PACTLINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
PG_DATABASE = "pactline_test"


@pytest.fixture(scope="session")
def pg_database() -> str:
    """The database `pactline_test` on the server of PACTLINE_TEST_POSTGRES_URL, created if missing."""
    import contextlib

    import psycopg

    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as e:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({e}).\n"
            "Start it (`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`) or point "
            "PACTLINE_TEST_POSTGRES_URL at a server where you may create a database.",
            pytrace=False,
        )
    with admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,)).fetchone() is None:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):  # a parallel run made it meanwhile
                admin.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    return PG_ADMIN_URL.rpartition("/")[0] + "/" + PG_DATABASE


@pytest.fixture
def pg_url(pg_database: str):
    """A URL whose search_path is a fresh schema, dropped after the test."""
    import uuid

    import psycopg

    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{pg_database}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(pg_database, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


# -- retention and erasure: versions made through the pipeline, and a data subject in them ------
# (shared by test_retention.py, test_erasure.py and test_retention_dag.py)


def populate(workspace: Path, name: str = "fraud", run_id: str = "manual__populate"):
    """Every dataset of an agreement through ingest, map_schema, protect and publish, on the default
    data root, keys and catalog under $PACTLINE_HOME (what the CLI and the DAGs use)."""
    import datetime as dt

    from pactline.agreement import load_agreement
    from pactline.keys import KeyStore
    from pactline.pipeline.context import RunContext
    from pactline.pipeline.ingest import ingest
    from pactline.pipeline.map_schema import map_schema
    from pactline.pipeline.protect import protect
    from pactline.pipeline.publish import publish
    from pactline.store import DataRoot

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


def protected_outputs(ctx, dataset_id: str | None = None) -> list:
    # synthetic outputs need the synthesize step; these tests release protected data only
    return [o for o in ctx.agreement.outputs if o.kind == "protected" and dataset_id in (None, o.dataset)]


def area_counts(ctx) -> dict[str, int]:
    """How many versions of each area `populate` makes."""
    n = len(ctx.agreement.datasets)
    return {"landing": n, "staging": n, "shared": len(protected_outputs(ctx))}


def total(ctx) -> int:
    """How many versions `populate` makes."""
    return sum(area_counts(ctx).values())


def emails(path: str | Path, column: str, delimiter: str) -> list[str]:
    import csv

    with open(path, newline="") as fh:
        return [row[column] for row in csv.DictReader(fh, delimiter=delimiter)]


@pytest.fixture
def subject(workspace) -> str:
    """An email in both of the fraud agreement's datasets, spelled as one partner spells it."""
    data = workspace / "data" / "fraud"
    bank = emails(data / "transactions.csv", "KLANT_EMAIL", ";")
    shop = {e.strip().lower() for e in emails(data / "orders.csv", "customer_mail", ",")}
    both = sorted(e for e in bank if e.strip().lower() in shop)
    assert both, "sample data has no customer in both datasets"
    return both[0]


# == Helpers shared between test modules (issue 16) ============================================================
# Test modules import each other's helpers from here, never from another test module. Heavy imports stay inside
# the functions so collecting any test stays cheap.

# -- the protect engine's builders (test_protect, test_protect_streaming) --------------------------------------

PSEUDO_KEY = bytes(range(32))
ENC_KEY = bytes(range(100, 132))


def fixed_keys(pseudo: bytes = PSEUDO_KEY, enc: bytes = ENC_KEY):
    """A KeyStore that resolves the pseudonymisation and encryption secrets to fixed keys."""
    from pactline.keys import KeyStore

    secrets = {"pseudonymisation": pseudo, "encryption": enc}
    return KeyStore(resolver=secrets.get)


def col(transformation: dict, type: str = "string", **extra):
    """A quasi-identifier column of the agreement model with this transformation."""
    from pactline.agreement.model import Column

    return Column.model_validate(
        {"type": type, "category": "quasi_identifier", "legal_basis": "consent", "transformation": transformation,
         **extra}
    )


def dataset(columns: dict, id: str = "ds"):
    """A dataset of the agreement model holding these columns."""
    from pactline.agreement.model import Dataset

    return Dataset(id=id, provider="p", source={"uri": "x.parquet", "format": "parquet"}, columns=columns)


def token(text: str, key: bytes = PSEUDO_KEY, length: int = 32, prefix: str = "") -> str:
    """Independent reference: stdlib HMAC-SHA256."""
    import hashlib
    import hmac

    return prefix + hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()[:length]


# -- whole DAGs through dag.test, and what they released (test_e2e, test_s3, test_parties, test_partition, ...) --

HIDDEN = {"pseudonymise", "redact", "drop", "mask", "encrypt"}  # kinds whose raw values must never be released


def run_dag(path, as_of="2027-01-01", approve=()):
    """The agreement's DAG run once with dag.test (approval steps in `approve` marked successful)."""
    from operators.render import render
    from pactline.agreement import load_agreement

    os.environ["PACTLINE_AGREEMENTS"] = str(path.parent)  # dag.test registers the DAG from the DAG folder

    dag = render(load_agreement(path))
    pattern = "|".join(f"{t}$" for t in approve) or None
    return dag.test(run_conf={"as_of": as_of}, mark_success_pattern=pattern)


@pytest.fixture
def openlineage_events(tmp_path, monkeypatch):
    """OpenLineage switched on for this test only, with the provider's file transport (no network): returns a
    function that reads the events emitted so far. The provider stays off for every other test (no transport is
    configured), and its plugin was loaded off, so its listener is registered here by hand and removed after."""
    import json

    import airflow.providers.openlineage.plugins.openlineage  # noqa: F401 - builds its plugin with OpenLineage off
    from airflow.providers.openlineage.plugins.listener import OpenLineageListener
    from airflow.sdk.listener import get_listener_manager

    manager = get_listener_manager()  # plugins load now, before the transport is set: the provider's stays off
    log = tmp_path / "openlineage.jsonl"
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps({"type": "file", "log_file_path": str(log),
                                                                      "append": True}))
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__NAMESPACE", "pactline-test")
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD", "True")  # in the task's process: no fork
    listener = OpenLineageListener()
    manager.add_listener(listener)
    try:
        yield lambda: [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    finally:
        manager.pm.unregister(listener)


def releases(agreement_id, run_id):
    """{output: (manifest, table)} of every release the run made."""
    from pactline.store import DataRoot

    root = DataRoot()
    out = {}
    for output in root.ls(f"{agreement_id}/shared"):
        for version in root.ls(f"{agreement_id}/shared/{output}"):
            manifest = root.read_json(f"{agreement_id}/shared/{output}/{version}/manifest.json")
            if manifest["run"]["run_id"] == run_id:
                out[output] = (manifest, root.read_table(f"{agreement_id}/shared/{output}/{version}/data.parquet"))
    return out


def raw_values(workspace, loaded, dataset_id):
    """The source's raw values of every column whose content the agreement says must not be released."""
    import pandas as pd

    ds = loaded.agreement.dataset(dataset_id)
    src = workspace / "agreements" / ds.source.uri
    df = pd.read_csv(src, sep=ds.source.delimiter, dtype=str) if ds.source.format == "csv" else pd.read_parquet(src)
    partner = {canonical: p for p, canonical in ds.schema_mapping.items()}
    values = set()
    for name, column in ds.columns.items():
        if column.transformation.kind in HIDDEN:
            values |= {str(v).strip() for v in df[partner.get(name, name)].dropna() if len(str(v).strip()) >= 5}
    return values


# -- partitioned input (test_partition, test_distributed, test_verdicts) ----------------------------------------

# the fraud agreement's pseudonymisation key (random-looking, as every key must be)
PSEUDONYM_KEY = "6f097639ef94ae1d85683a2f848504477c645059540e7ffc05ce3df7adcabb7a"


def split_csv(src: Path, folder: Path, parts: int, sep: str = ";") -> list[Path]:
    """The rows of `src` as `parts` CSV files with a header each, in order."""
    import pandas as pd

    df = pd.read_csv(src, sep=sep, dtype=str, keep_default_na=False)
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-len(df) // parts)
    out = []
    for i in range(parts):
        path = folder / f"part-{i:03d}.csv"
        df.iloc[i * size:(i + 1) * size].to_csv(path, sep=sep, index=False)
        out.append(path)
    return out


def partitioned_fraud(agreements: Path, parts_glob: str | None, *, synthetic: bool = False) -> Path:
    """fraud.yaml without the synthetic output; with `parts_glob`, transactions read from those files."""
    path = agreements / "fraud.yaml"
    text = path.read_text()
    if not synthetic and "  - id: transactions-synthetic" in text:
        text = text[:text.index("  - id: transactions-synthetic")] + text[text.index("  - id: orders-release"):]
    if parts_glob:
        text = text.replace("source: {uri: ../data/fraud/transactions.csv, format: csv, delimiter: \";\"}",
                            f"source: {{uri: \"{parts_glob}\", format: csv, delimiter: \";\"}}")
        assert parts_glob in text
    amend(path, text)
    return path


def read_release(agreement_id: str, output: str, run_id: str, root=None):
    """(manifest, table) of the version `run_id` released of `output`, whatever its files."""
    import pyarrow as pa

    from pactline.store import DataRoot

    root = root or DataRoot()
    for version in root.ls(f"{agreement_id}/shared/{output}"):
        base = f"{agreement_id}/shared/{output}/{version}"
        manifest = root.read_json(f"{base}/manifest.json")
        if manifest["run"]["run_id"] == run_id:
            tables = [root.read_table(f"{base}/{f['path']}") for f in manifest["files"]]
            return manifest, pa.concat_tables(tables)
    raise AssertionError(f"no release of {output} by run {run_id}")


# -- a real DagBag over dags/ (test_dags, test_party_deployments) ----------------------------------------------

def dagbag(folder, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("PACTLINE_AGREEMENTS", str(folder))
    return DagBag(dag_folder=str(REPO / "dags"), safe_mode=True)


def agreement_dags(bag) -> set[str]:
    """The DAGs built from agreements (Pactline's own DAGs, such as retention, are named pactline_*)."""
    return {d for d in bag.dag_ids if not d.startswith("pactline_")}


# -- a provider's published release (test_delivery, test_party_deployments, test_two_deployments) ----------------

OUTPUT = "transactions-release"
PROVIDER_AS_OF = dt.date(2027, 1, 1)


class Provider:
    """The fraud agreement's transactions ingested, mapped, protected and published as OUTPUT by the provider,
    on a data root under tmp_path/provider; key() asks for its data key as a recipient would."""

    def __init__(self, workspace, tmp_path, as_of=PROVIDER_AS_OF):
        from pactline.agreement import load_agreement
        from pactline.keys import KeyStore
        from pactline.pipeline.context import RunContext
        from pactline.pipeline.ingest import ingest
        from pactline.pipeline.map_schema import map_schema
        from pactline.pipeline.protect import protect
        from pactline.pipeline.publish import publish
        from pactline.store import DataRoot

        self.events: list = []
        self.path = workspace / "agreements" / "fraud.yaml"
        self.ctx = RunContext(loaded=load_agreement(self.path), run_id="manual__2027-01-01T00:00:00+00:00",
                              as_of=as_of, root=DataRoot(str(tmp_path / "provider")), keystore=KeyStore(),
                              recorder=lambda event, payload: self.events.append((event, payload)))
        ing = ingest(self.ctx, "transactions")
        mapped = map_schema(self.ctx, "transactions", ing["landing"])
        prot = protect(self.ctx, "transactions", mapped["staging"])
        self.release = publish(self.ctx, OUTPUT, {"ingest": ing, "map_schema": mapped, "protect": prot},
                               prot["staging"])

    def key(self, principal="fraud-lab-analysts", party="fraud-lab", as_of=PROVIDER_AS_OF, version_id=None):
        from pactline.delivery.key_release import KeyRequest, release_key

        return release_key(self.ctx.loaded, KeyRequest(version_id or self.release["version_id"], principal, party),
                           as_of=as_of, vault=self.ctx.vault, record=lambda e, p: self.events.append((e, p)))


# -- a ledger's SQLite file opened as an intruder would (test_witness, test_two_deployments) ---------------------

def intruder(db: Path):
    """A connection to a ledger's SQLite file with the append-only triggers dropped."""
    import sqlite3

    conn = sqlite3.connect(db, isolation_level=None)
    for table in ("ledger_entries", "ledger_checkpoints"):
        for op in ("update", "delete"):
            conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op}")
    return conn


# -- a live Airflow (api-server and friends as processes) (test_browser_ui, test_two_deployments) ----------------

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
PG_SERVER = os.environ.get("PACTLINE_TEST_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, check, timeout: float, interval: float = 1.0, on_timeout=lambda: ""):
    """check()'s first truthy result, polled every `interval` seconds; TimeoutError after `timeout`."""
    import time

    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as err:  # not up yet
            last = err
        else:
            if last:
                return last
        time.sleep(interval)
    raise TimeoutError(f"{what}: not after {timeout:.0f}s (last: {last!r}){on_timeout()}")


@dataclass
class LiveAirflow:
    """Airflow processes started by a test (their ids in `procs`), reached over HTTP at `base`; `passwords` are the
    SimpleAuthManager users' (the admin's gets the API token)."""

    base: str
    root: Path
    env: dict[str, str]
    passwords: dict[str, str] = field(default_factory=dict)
    procs: list = field(default_factory=list)
    _token: str | None = None

    @property
    def agreements(self) -> Path:
        return self.root / "ws" / "agreements"

    def logs(self, lines: int = 25) -> str:
        out = []
        for log in sorted(self.root.glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"\n--- {log.name} ---\n" + "\n".join(tail))
        return "".join(out)

    def token(self) -> str:
        if self._token is None:
            body = self.request("POST", "/auth/token", {"username": "admin", "password": self.passwords["admin"]},
                                auth=False)
            self._token = body["access_token"]
        return self._token

    def request(self, method: str, path: str, body=None, *, auth: bool = True):
        import json
        import urllib.error
        import urllib.request

        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            raise AssertionError(f"{method} {path}: {err.code} {err.read()[:500]!r}") from None

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        from urllib.parse import quote

        tis = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances?limit=100")
        return {t["task_id"]: t["state"] for t in tis["task_instances"]}

    def stop(self) -> None:
        """Stop every process started here (and what they started), by id: SIGTERM, then SIGKILL."""
        import contextlib
        import signal
        import subprocess

        import psutil

        family: list = []
        for p in self.procs:
            try:
                parent = psutil.Process(p.pid)
                family += [parent, *parent.children(recursive=True)]
            except psutil.NoSuchProcess:
                pass
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        _, alive = psutil.wait_procs(family, timeout=20)
        for proc in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        psutil.wait_procs(alive, timeout=10)
        for p in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=5)


def pg_admin(sql: str) -> None:
    """Run `sql` on PG_SERVER's postgres database (CREATE/DROP DATABASE for a live Airflow)."""
    import psycopg

    try:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql)
    except psycopg.OperationalError as e:
        raise AssertionError(
            f"PostgreSQL is needed at {PG_SERVER} for this test ({e}); start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`") from None


def live_airflow_env(root: Path, port: int, db_url: str) -> dict[str, str]:
    """The environment of Airflow processes serving dags/ and plugins/ on `port` from a metadata DB at `db_url`."""
    import secrets

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PACTLINE"))}
    env.update({
        "AIRFLOW_HOME": str(root / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "3",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,viewer:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(root / "passwords.json"),
        # PostgreSQL, not SQLite: a scheduler, DAG processor and API server writing one SQLite file at once
        # fail now and then with "database is locked" on a loaded machine
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": db_url,  # psycopg 3 serves async too (no asyncpg here)
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(root / "airflow" / "logs"),
        "PACTLINE_HOME": str(root / "pactline"),
        "PACTLINE_AGREEMENTS": str(root / "ws" / "agreements"),
    })
    return env

# == end of the shared helpers (issue 16) ======================================================================


def partition_steps(ctx, ds: str):
    """A partitioned dataset's steps in this process, as the mapped tasks and reduce steps run them (each release
    told its partition's mapped data, as the DAG does): (mapped, protected, released, combine), where combine()
    runs the last reduce (it raises when a whole-dataset gate fails)."""
    from pactline.pipeline.check_quality import quality_partition
    from pactline.pipeline.combine import combine
    from pactline.pipeline.ingest import ingest_partition
    from pactline.pipeline.k_classes import k_classes
    from pactline.pipeline.list_partitions import list_partitions
    from pactline.pipeline.map_schema import map_partition
    from pactline.pipeline.prepare import prepare
    from pactline.pipeline.protect import protect_partition
    from pactline.pipeline.release import release_partition
    from pactline.pipeline.scan_pii import scan_partition

    kanon = ctx.agreement.privacy.k_anonymity
    qis = list(kanon.quasi_identifiers)
    maps = [map_partition(ctx, ds, ingest_partition(ctx, ds, x)) for x in list_partitions(ctx, ds)]
    prepared = prepare(ctx, ds, maps, [scan_partition(ctx, ds, m) for m in maps],
                       [quality_partition(ctx, ds, m) for m in maps])
    protected = [protect_partition(ctx, ds, m, prepared, quasi_identifiers=qis) for m in maps]
    classes = k_classes(ctx, ds, protected, quasi_identifiers=qis, k=kanon.k, suppress=kanon.suppress,
                        max_suppressed_rate=kanon.max_suppressed_rate)
    released_parts = [release_partition(ctx, ds, p, classes, mapped=m) for p, m in zip(protected, maps, strict=True)]
    return maps, protected, released_parts, lambda: combine(ctx, ds, mapped=maps, released=released_parts,
                                                            classes=classes)


# == browser tests against a live Airflow (test_browser_ui, test_data_docs_offline, test_incidents_browser) ====
# and the failed gate that opens an incident (issue 17)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORDS = {"admin": secrets.token_urlsafe(12), "viewer": secrets.token_urlsafe(12)}
BROWSER_DAG = "readmission-risk"  # the live Airflow is up once this DAG is parsed


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[LiveAirflow]:
    root = tmp_path_factory.mktemp("live")
    with pytest.MonkeyPatch.context() as m:  # signed with party keys where the Airflow processes look
        m.setenv("PACTLINE_HOME", str(root / "pactline"))
        signed_copy(root / "ws" / "agreements")
    load_generator().generate(root / "ws" / "data", rows=300, seed=11)
    (root / "passwords.json").write_text(json.dumps(PASSWORDS))
    (root / "airflow").mkdir()
    port = free_port()
    db = f"pactline_browser_{secrets.token_hex(4)}"
    pg_admin(f'CREATE DATABASE "{db}"')
    db_url = f"{PG_SERVER.replace('postgresql://', 'postgresql+psycopg://', 1)}/{db}"
    af = LiveAirflow(f"http://127.0.0.1:{port}", root, live_airflow_env(root, port, db_url), PASSWORDS)
    try:
        with (root / "migrate.log").open("w") as log:
            subprocess.run([AIRFLOW, "db", "migrate"], env=af.env, stdout=log, stderr=subprocess.STDOUT, check=True,
                           timeout=180)
        for component in ("api-server", "scheduler", "dag-processor"):
            log = (root / f"{component}.log").open("w")
            af.procs.append(subprocess.Popen([AIRFLOW, component], env=af.env, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, start_new_session=True))
        wait_for("api-server healthy", lambda: af.request("GET", "/api/v2/monitor/health", auth=False), 120,
                 on_timeout=af.logs)
        wait_for(f"DAG {BROWSER_DAG} parsed", lambda: af.request("GET", f"/api/v2/dags/{BROWSER_DAG}"), 150, 2,
                 on_timeout=af.logs)
        yield af
    finally:
        af.stop()
        pg_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: `make test` installs it (apt-get install chromium)"
    with sync_playwright() as pw:
        yield pw


@contextlib.contextmanager
def chromium(pw: Any) -> Iterator[Any]:
    """Debian's Chromium, headless, with a fresh profile (user-data-dir) that is removed afterwards."""
    profile = tempfile.mkdtemp(prefix="pactline-chromium-")
    ctx = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                                viewport={"width": 1400, "height": 1000})
    try:
        ctx.set_default_timeout(30_000)
        yield ctx
    finally:
        ctx.close()
        shutil.rmtree(profile, ignore_errors=True)


def login(page: Any, base: str, user: str, shot: Path | None = None) -> None:
    """Sign in through Airflow's login form (`shot`: a screenshot of the filled form there)."""
    page.goto(base + "/")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(PASSWORDS[user])
    if shot:
        page.screenshot(path=str(shot))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/", timeout=30_000)


@pytest.fixture
def live_home(live, monkeypatch):
    """The live Airflow, with this process writing where it reads: its PACTLINE_HOME (data root, keys, ledger) and
    agreements folder."""
    monkeypatch.setenv("PACTLINE_HOME", live.env["PACTLINE_HOME"])
    monkeypatch.setenv("PACTLINE_AGREEMENTS", str(live.agreements))
    return live


def failed_gate(workspace: Path, run_id: str, planted: str):
    """The fraud agreement's orders through ingest, map_schema and the quality gate, with `planted` as a pay_method
    outside the allowed values: the gate fails, writes its Data Docs and opens an incident in the ledger under
    $PACTLINE_HOME. Returns the incident.opened entry."""
    import datetime as dt

    from pactline.agreement import load_agreement
    from pactline.checks import CheckFailed
    from pactline.keys import KeyStore
    from pactline.pipeline.check_quality import check_quality
    from pactline.pipeline.context import RunContext
    from pactline.pipeline.ingest import ingest
    from pactline.pipeline.map_schema import map_schema
    from pactline.recording import ledger_recorder, open_ledger
    from pactline.store import DataRoot

    path = workspace / "data" / "fraud" / "orders.csv"
    lines = path.read_text().split("\n")
    cells = lines[2].split(",")
    cells[6] = planted
    lines[2] = ",".join(cells)
    path.write_text("\n".join(lines))
    loaded = load_agreement(workspace / "agreements" / "fraud.yaml")
    ctx = RunContext(loaded=loaded, run_id=run_id, as_of=dt.date(2027, 1, 1), root=DataRoot(), keystore=KeyStore(),
                     recorder=ledger_recorder(loaded, actor="test", run_id=run_id))
    mapped = map_schema(ctx, "orders", ingest(ctx, "orders")["landing"])
    with pytest.raises(CheckFailed):
        check_quality(ctx, "orders", mapped["staging"])
    return [x for x in open_ledger().entries(event="incident.opened") if x.payload["run_id"] == run_id][-1]
