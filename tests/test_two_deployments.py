"""Provider and recipient as two deployments on this machine: each its own PACTLINE_HOME (party keys, ledger,
keyring, catalog, data), the provider's own Airflow API server on loopback with its own metadata database,
and an exchange folder both read. The recipient fetches over HTTP with `pactline fetch --api`.

- within the grant: the key goes through the provider's API, the release lands in the recipient's store;
- a principal whose grant ended: 403, nothing stored;
- the recipient's purge is attested through the exchange and lands in the provider's ledger;
- a release the provider purged: 410;
- the recipient witnesses the provider's published ledger and catches it when its tail was cut.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from pactline.cli.main import main
from tests.conftest import (
    AGREEMENTS,
    AIRFLOW,
    LiveAirflow,
    Provider,
    free_port,
    intruder,
    live_airflow_env,
    load_generator,
    pg_admin,
    wait_for,
)

pytestmark = pytest.mark.slow
PACTLINE = str(Path(sys.executable).with_name("pactline"))
GRANTS = "  - {principal: fraud-lab-analysts, zone: sandbox, permissions: [read], valid_until: 2027-12-31}\n"
FORMER = "  - {principal: fraud-lab-former, zone: sandbox, permissions: [read], valid_until: 2026-06-30}\n"
PASSWORDS = {"admin": secrets.token_urlsafe(12), "fraud-lab-analysts": secrets.token_urlsafe(12),
             "fraud-lab-former": secrets.token_urlsafe(12)}


def fetch(output: str, env: dict[str, str], user: str) -> subprocess.CompletedProcess:
    return subprocess.run([PACTLINE, "fetch", output, "--agreement", env["AGREEMENT"], "--api", env["API"]],
                          env={**env, "PACTLINE_API_USER": user, "PACTLINE_API_PASSWORD": PASSWORDS[user]},
                          capture_output=True, text=True, timeout=120)


def test_provider_and_recipient_on_two_deployments(tmp_path, monkeypatch):
    provider_home, recipient_home, exchange = tmp_path / "nordbank", tmp_path / "fraud-lab", tmp_path / "exchange"
    ws = tmp_path / "ws"
    (ws / "agreements").mkdir(parents=True)
    path = ws / "agreements" / "fraud.yaml"
    text = (AGREEMENTS / "fraud.yaml").read_text()
    assert GRANTS in text
    path.write_text(text.replace(GRANTS, GRANTS + FORMER))
    load_generator().generate(ws / "data", rows=300, seed=11)
    monkeypatch.setenv("PACTLINE_EXCHANGE", str(exchange))
    # each party makes its key and signs in its own deployment
    for party, home in (("nordbank", provider_home), ("shopco", provider_home), ("fraud-lab", recipient_home)):
        monkeypatch.setenv("PACTLINE_HOME", str(home))
        assert main(["keys", "new", "--party", party, "--agreement", str(path)]) == 0
    for party, home in (("nordbank", provider_home), ("shopco", provider_home), ("fraud-lab", recipient_home)):
        monkeypatch.setenv("PACTLINE_HOME", str(home))
        assert main(["sign", str(path), "--party", party]) == 0
    assert not list((provider_home / "keys").glob("pactline_party_fraud-lab*"))  # keys stay with their owner

    # the provider publishes (to the exchange, manifest signed by nordbank)
    monkeypatch.setenv("PACTLINE_HOME", str(provider_home))
    monkeypatch.setenv("PACTLINE_PARTY", "nordbank")
    provider = Provider(ws, tmp_path, as_of=dt.date.today())
    assert provider.release["exchange"]["exported"]

    # the provider's API server
    root = tmp_path / "airflow-root"
    (root / "airflow").mkdir(parents=True)
    (root / "passwords.json").write_text(json.dumps(PASSWORDS))
    port, db = free_port(), f"pactline_deploy_{secrets.token_hex(4)}"
    pg_admin(f'CREATE DATABASE "{db}"')
    db_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}"
    env = live_airflow_env(root, port, db_url)
    env.update({"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{'admin' if u == 'admin' else 'viewer'}"
                                                                     for u in PASSWORDS),
                "PACTLINE_HOME": str(provider_home), "PACTLINE_AGREEMENTS": str(ws / "agreements"),
                "PACTLINE_EXCHANGE": str(exchange), "PACTLINE_PARTY": "nordbank",
                "PACTLINE_DATA_ROOT": provider.ctx.root.url})
    af = LiveAirflow(f"http://127.0.0.1:{port}", root, env, PASSWORDS)
    try:
        with (root / "migrate.log").open("w") as log:
            subprocess.run([AIRFLOW, "db", "migrate"], env=env, stdout=log, stderr=subprocess.STDOUT, check=True,
                           timeout=180)
        log = (root / "api-server.log").open("w")
        af.procs.append(subprocess.Popen([AIRFLOW, "api-server"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True))
        wait_for("api-server healthy", lambda: af.request("GET", "/api/v2/monitor/health", auth=False), 120,
                 on_timeout=af.logs)

        recipient = {k: v for k, v in env.items() if not k.startswith(("AIRFLOW", "PACTLINE"))}
        recipient.update({"PACTLINE_HOME": str(recipient_home), "PACTLINE_EXCHANGE": str(exchange),
                          "PACTLINE_PARTY": "fraud-lab", "PACTLINE_AGREEMENTS": str(ws / "agreements"),
                          "AGREEMENT": str(path), "API": af.base})
        # a principal whose grant ended: refused by the provider, nothing stored
        former = fetch("transactions-release", recipient, "fraud-lab-former")
        assert former.returncode == 1 and "HTTP 403" in former.stderr, former.stdout + former.stderr
        assert "ended on 2026-06-30" in former.stderr
        assert not (recipient_home / "data" / "fraud-detection" / "received").exists()
        # within the grant: received over HTTP into the recipient's own store
        ok = fetch("transactions-release", recipient, "fraud-lab-analysts")
        assert ok.returncode == 0, ok.stdout + ok.stderr + af.logs()
        assert "received transactions-release" in ok.stdout and "300 rows" in ok.stdout
        # the recipient's retention purges what it received and attests it; the provider records the attestation
        settled = settle_as(recipient_home, "fraud-lab", ws, monkeypatch, purge_first=True)
        assert len(settled["attestations_sent"]) == 1
        assert settle_as(provider_home, "nordbank", ws, monkeypatch)["attested"] == 1
        # the provider purged the release: the key is gone (410)
        provider.ctx.vault.catalog.update(provider.release["version_id"], expect=["live"], state="purged",
                                          purge_reason="retention")
        gone = fetch("transactions-release", recipient, "fraud-lab-analysts")
        assert gone.returncode == 1 and "HTTP 410" in gone.stderr, gone.stdout + gone.stderr
    finally:
        af.stop()
        pg_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')

    # each ledger holds its own side: the provider's key releases and refusals, the recipient's receipt
    from pactline.ledger import Ledger

    with Ledger.open(f"sqlite:///{provider_home / 'ledger.sqlite'}", create=False) as ledger:
        provider_events = [(x.event, (x.payload or {}).get("principal")) for x in ledger.entries()]
    assert ("key.released", "fraud-lab-analysts") in provider_events
    assert ("key.refused", "fraud-lab-former") in provider_events
    assert ("deletion.attested", None) in provider_events
    with Ledger.open(f"sqlite:///{recipient_home / 'ledger.sqlite'}", create=False) as ledger:
        recipient_events = [x.event for x in ledger.entries()]
    assert recipient_events.count("release.received") == 1 and "key.released" not in recipient_events

    # the recipient witnesses the provider's ledger (sealed and published by the API server after each key
    # release); then the provider's ledger loses its tail: the recipient's witness catches it
    from pactline.ledger.witness import TRUNCATED, seal, witness
    from pactline.store.exchange import open_exchange

    monkeypatch.setenv("PACTLINE_HOME", str(recipient_home))  # (each ledger signs with its own home's key)
    with Ledger.open(f"sqlite:///{recipient_home / 'ledger.sqlite'}") as mine:
        assert witness("nordbank", ledger=mine, own_party="fraud-lab").ok
    monkeypatch.setenv("PACTLINE_HOME", str(provider_home))
    with Ledger.open(f"sqlite:///{provider_home / 'ledger.sqlite'}") as theirs:
        size = theirs.size()
        conn = intruder(provider_home / "ledger.sqlite")
        conn.execute("DELETE FROM ledger_entries WHERE idx >= ?", (size - 3,))
        conn.execute("DELETE FROM ledger_checkpoints WHERE tree_size > ?", (size - 3,))
        theirs.checkpoint()
        open_exchange().delete("ledgers/nordbank/latest.json")  # so the provider's publisher starts afresh
        seal(theirs, party="nordbank")
    monkeypatch.setenv("PACTLINE_HOME", str(recipient_home))
    with Ledger.open(f"sqlite:///{recipient_home / 'ledger.sqlite'}") as mine:
        caught = witness("nordbank", ledger=mine, own_party="fraud-lab")
    assert not caught.ok and caught.problem == TRUNCATED


def settle_as(home: Path, party: str, ws: Path, monkeypatch: pytest.MonkeyPatch, *, purge_first: bool = False) -> dict:
    """What the retention DAG of `party`'s own deployment does (its purge, then settle_deliveries)."""
    from pactline.delivery.attest import settle
    from pactline.parties import PartyKeys
    from pactline.recording import open_ledger
    from pactline.retention import run_purge
    from pactline.retention.due import load_agreements
    from pactline.store import DataRoot, default_vault

    monkeypatch.setenv("PACTLINE_HOME", str(home))
    monkeypatch.setenv("PACTLINE_PARTY", party)
    if purge_first:  # long after the agreement ended: everything this deployment holds is due
        report = run_purge(dt.date(2030, 1, 1), agreements=[ws / "agreements"], root=DataRoot(str(home / "data")))
        assert report.receipts and not report.errors
    agreements, _ = load_agreements([ws / "agreements"])
    return settle(agreements, catalog=default_vault().catalog, ledger=open_ledger(), today=dt.date(2030, 1, 1),
                  party_keys=PartyKeys(), actor=f"test:{party}")
