"""Shared fixtures. Every test gets its own PACTLINE_HOME (keys, ledger, data root) under tmp_path."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

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
