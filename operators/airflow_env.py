"""What Pactline finds through Airflow, defined once for the operators, the DAG files (dags/) and the plugin
(plugins/): where the agreements are, secrets, the key store, the data root and the ledger.

    agreements_folder()   $PACTLINE_AGREEMENTS, else include/agreements in this checkout
    airflow_secret(name)  an Airflow Variable, else a Connection's password (any secrets backend), decoded;
                          its `shared_secrets` reads the Variable `pactline_shared_secrets`
    keystore()            a KeyStore that resolves secrets through Airflow first
    data_root()           the data root, its vault opened with that key store (one per configuration per process)
    ledger()              the ledger this process writes to (one per URL per process)

Secrets are read through the Task SDK inside a task (where Airflow 3 forbids the metadata database), and
through airflow.models elsewhere: the API server (the plugin's pages and key-release API), the scheduler's
listeners. Airflow, the store and the ledger are imported on first use, so a DAG file that only needs
agreements_folder() parses without them.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING

from pactline.agreement.folder import AGREEMENTS_ENV, agreements_folder

if TYPE_CHECKING:
    from pactline.keys import KeyStore
    from pactline.ledger import Ledger
    from pactline.store import DataRoot



def in_task() -> bool:
    """True inside a task process (the Task SDK's supervisor channel is set up), where secrets go through it."""
    runner = sys.modules.get("airflow.sdk.execution_time.task_runner")
    return getattr(runner, "SUPERVISOR_COMMS", None) is not None


def _variable(name: str) -> str | None:
    try:
        if in_task():
            from airflow.sdk import Variable

            return Variable.get(name, default=None)
        from airflow.models import Variable as VariableModel

        return VariableModel.get(name, default_var=None)
    except Exception:
        return None


def _connection_password(name: str) -> str | None:
    try:
        if in_task():
            from airflow.sdk import Connection

            return Connection.get(name).password
        from airflow.models import Connection as ConnectionModel

        return ConnectionModel.get_connection_from_secrets(name).password
    except Exception:
        return None


def airflow_secret(name: str) -> bytes | None:
    """A secret through Airflow: a Variable, else a Connection's password, so any secrets backend works."""
    from pactline.keys import decode_secret

    value = _variable(name)
    if value is None:
        value = _connection_password(name)
    return decode_secret(value, name) if value else None


def airflow_shared_secrets() -> str | None:
    """The deployment's secret-sharing JSON from the Airflow Variable `pactline_shared_secrets`, if set."""
    from pactline.keys import SHARED_SECRETS_VARIABLE

    return _variable(SHARED_SECRETS_VARIABLE)


# KeyStore(resolver=airflow_secret) picks this up, so every KeyStore built on Airflow reads the sharing
# configuration from the Variable first (then PACTLINE_SHARED_SECRETS)
airflow_secret.shared_secrets = airflow_shared_secrets  # type: ignore[attr-defined]


def keystore() -> KeyStore:
    """The key store of this deployment: Airflow's secrets first, then the local 0600 files under PACTLINE_HOME."""
    from pactline.keys import KeyStore

    return KeyStore(resolver=airflow_secret)


_lock = threading.Lock()
_roots: dict[tuple[str, str, str], DataRoot] = {}


def data_root() -> DataRoot:
    """The data root ($PACTLINE_DATA_ROOT, else under PACTLINE_HOME) with its vault opened with keystore(), so
    it decrypts what the pipeline wrote; one per configuration per process."""
    from pactline.keys import pactline_home
    from pactline.store import DataRoot, Vault, data_root_url

    key = (data_root_url(), os.environ.get("PACTLINE_DATA_ROOT_OPTIONS", ""), str(pactline_home()))
    with _lock:
        if key not in _roots:
            _roots[key] = DataRoot(key[0], vault=Vault.open(keystore()))
        return _roots[key]


def ledger() -> Ledger:
    """The ledger this process writes to ($PACTLINE_LEDGER_URL, else the SQLite file under PACTLINE_HOME)."""
    from pactline.recording import open_ledger

    return open_ledger()


__all__ = ["AGREEMENTS_ENV", "agreements_folder", "airflow_secret", "airflow_shared_secrets", "data_root",
           "in_task", "keystore", "ledger"]
