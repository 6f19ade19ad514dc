"""`pactline read` is governed: only a principal the agreement grants `read` on a version's zone decrypts it,
on the date of the read, and every attempt (granted or refused) is a ledger entry holding no data value."""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from pactline.agreement import load_agreement
from pactline.keys import KeyStore
from pactline.ledger import Ledger
from pactline.ledger.entry import canonical_json
from pactline.pipeline.context import RunContext
from pactline.pipeline.ingest import ingest
from pactline.pipeline.map_schema import map_schema
from pactline.store import DataRoot
from tests.conftest import amend

KEK = "0d99c6e5f0f0609f4d6a1e5580f841b50ca2e4fc3473eca5ef24c155dd6b5bd7"
DAY = "2027-01-01"
LANDING_GRANT = "  - {principal: nordbank-intake, zone: landing, permissions: [read], valid_until: 2027-06-30}\n"


@pytest.fixture
def stored(workspace, tmp_path, monkeypatch):
    """The fraud agreement's transactions ingested and mapped into a data root at ./.pactline/data (as in the
    demo), with the reader's environment pointing at the same root, KEK and agreements folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PACTLINE_SECRET_PACTLINE_KEK", KEK)
    monkeypatch.setenv("PACTLINE_DATA_ROOT", str(tmp_path / ".pactline" / "data"))
    monkeypatch.setenv("PACTLINE_AGREEMENTS", str(workspace / "agreements"))
    monkeypatch.delenv("PACTLINE_PRINCIPAL", raising=False)
    monkeypatch.setattr("pactline.access.today", lambda: dt.date(2027, 1, 1))  # the reader's clock
    ctx = RunContext(
        loaded=load_agreement(workspace / "agreements" / "fraud.yaml"), run_id="manual__2027-01-01T00:00:00+00:00",
        as_of=dt.date(2027, 1, 1), root=DataRoot(str(tmp_path / ".pactline" / "data")),
        keystore=KeyStore(tmp_path / "keys"), recorder=lambda event, payload: None,
    )
    landing = ingest(ctx, "transactions")["landing"]
    staging = map_schema(ctx, "transactions", landing)["staging"]
    return {"landing": landing, "staging": staging, "agreement": workspace / "agreements" / "fraud.yaml",
            "source": workspace / "data" / "fraud" / "transactions.csv"}


def grant_landing(stored):
    path = stored["agreement"]
    text = path.read_text()
    at = text.index("\nincident_response:")
    amend(path, text[:at + 1] + LANDING_GRANT + text[at + 1:])


def read(*args):
    from pactline.cli.main import main

    return main(["read", *args])


def reads():
    """The read events in the ledger, in order."""
    ledger = Ledger.open()
    return [e for e in ledger.entries() if e.event.startswith("data.read")]


def test_a_landing_read_without_a_grant_is_refused_and_recorded(stored, capsys):
    assert read(stored["landing"], "--as", "fraud-lab-analysts", "--as-of", DAY) == 1
    err = capsys.readouterr().err
    assert err.startswith("refused: ") and "(clause: access)" in err and "sandbox only" in err
    assert read(stored["landing"], "--as", "someone-else", "--as-of", DAY) == 1
    assert "grants 'someone-else' nothing" in capsys.readouterr().err
    [first, second] = reads()
    assert first.event == second.event == "data.read_refused"
    assert first.agreement_id == "fraud-detection"
    assert first.payload["clause"] == "access" and first.payload["reason"] == "other_zone"
    assert first.payload["principal"] == "fraud-lab-analysts" and first.payload["zone"] == "landing"
    assert first.payload["path"] == stored["landing"]
    assert second.payload["reason"] == "no_grant"


def test_no_principal_is_refused_saying_how_to_give_one(stored, capsys):
    assert read(stored["landing"], "--as-of", DAY) == 1
    err = capsys.readouterr().err
    assert "--as PRINCIPAL" in err and "$PACTLINE_PRINCIPAL" in err
    [entry] = reads()
    assert entry.payload["reason"] == "no_principal" and entry.payload["principal"] is None


def test_a_landing_grant_lets_its_principal_read_and_the_read_is_recorded(stored, capsys, monkeypatch, tmp_path):
    grant_landing(stored)
    assert read(stored["landing"], "--as", "nordbank-intake", "--as-of", DAY, "--head", "3") == 0
    out, err = capsys.readouterr()
    assert "KLANT_EMAIL" in out  # the partner's raw copy, as landed
    assert "note: " in err and "decides who reads it" in err  # written under the unamended agreement
    [entry] = reads()
    assert entry.event == "data.read" and entry.actor == "cli:read"
    assert entry.fingerprint == load_agreement(stored["agreement"]).fingerprint
    p = entry.payload
    assert p["principal"] == "nordbank-intake" and p["zone"] == "landing" and p["path"] == stored["landing"]
    assert p["rows"] == 3 and p["columns"] > 0 and p["bytes"] > 0
    assert p["granted_by"] == {"clause": "access[1]", "principal": "nordbank-intake", "zone": "landing",
                               "permissions": ["read"], "valid_until": "2027-06-30"}
    assert p["version_fingerprint"] != entry.fingerprint  # both fingerprints named
    # the principal from the environment, the whole table exported
    monkeypatch.setenv("PACTLINE_PRINCIPAL", "nordbank-intake")
    export = tmp_path / "landing.csv"
    assert read(stored["landing"], "--as-of", DAY, "--out", str(export)) == 0
    assert len(export.read_text().splitlines()) == 301
    assert not list(tmp_path.glob(".landing.csv.partial"))
    last = reads()[-1]
    assert last.payload["rows"] == 300 and last.payload["exported_to"] == str(export.resolve())
    assert last.payload["bytes"] == export.stat().st_size


def test_an_expired_grant_is_refused(stored, capsys):
    grant_landing(stored)
    assert read(stored["landing"], "--as", "nordbank-intake") == 0  # today, 2027-01-01
    assert read(stored["landing"], "--as", "nordbank-intake", "--as-of", "2027-06-30") == 0  # its last day
    capsys.readouterr()
    assert read(stored["landing"], "--as", "nordbank-intake", "--as-of", "2027-07-01") == 1
    assert "ended on 2027-06-30" in capsys.readouterr().err
    assert [(e.event, e.payload.get("reason")) for e in reads()] == [("data.read", None), ("data.read", None),
                                                                     ("data.read_refused", "expired")]


def test_a_read_cannot_be_backdated_into_a_grant_that_has_ended(stored, capsys, monkeypatch):
    grant_landing(stored)
    monkeypatch.setattr("pactline.access.today", lambda: dt.date(2027, 7, 1))
    assert read(stored["landing"], "--as", "nordbank-intake") == 1  # today: the grant ended yesterday
    assert read(stored["landing"], "--as", "nordbank-intake", "--as-of", "2027-06-30") == 1
    assert "not earlier" in capsys.readouterr().err
    assert [e.payload["reason"] for e in reads()] == ["expired", "backdated"]


def test_a_grant_for_another_zone_does_not_count(stored, capsys):
    grant_landing(stored)
    assert read(stored["staging"], "--as", "nordbank-intake", "--as-of", DAY) == 1  # landing is not staging
    assert "landing only" in capsys.readouterr().err
    [entry] = reads()
    assert entry.payload["reason"] == "other_zone" and entry.payload["zone"] == "staging"


def test_a_path_relative_to_the_current_directory_works(stored, capsys):
    grant_landing(stored)
    folder = stored["landing"].rsplit("/", 1)[0]
    for path in (f".pactline/data/{stored['landing']}", f"./.pactline/data/{folder}/", stored["landing"]):
        assert read(path, "--as", "nordbank-intake", "--as-of", DAY) == 0, path
    assert [e.payload["path"] for e in reads()] == [stored["landing"]] * 3
    assert read("../outside.parquet", "--as", "nordbank-intake", "--as-of", DAY) == 2  # nothing outside the root


def test_an_agreement_missing_from_the_folder_refuses(stored, capsys, monkeypatch, tmp_path):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PACTLINE_AGREEMENTS", str(tmp_path / "empty"))
    assert read(stored["landing"], "--as", "fraud-lab-analysts", "--as-of", DAY) == 1
    assert "no valid agreement file" in capsys.readouterr().err
    assert reads()[0].payload["reason"] == "no_agreement"


def test_an_unsigned_amendment_grants_nothing(stored, capsys):
    path = stored["agreement"]
    text = path.read_text()
    at = text.index("\nincident_response:")
    path.write_text(text[:at + 1] + LANDING_GRANT + text[at + 1:])  # one side adds a grant and signs nothing
    assert read(stored["landing"], "--as", "nordbank-intake", "--as-of", DAY) == 1
    assert "(clause: parties)" in capsys.readouterr().err
    assert reads()[0].payload["reason"] == "unsigned"


def test_no_data_value_appears_in_any_ledger_entry(stored, capsys, tmp_path):
    grant_landing(stored)
    read(stored["landing"], "--as", "fraud-lab-analysts", "--as-of", DAY)
    read(stored["landing"], "--as", "nordbank-intake", "--as-of", DAY, "--head", "50")
    read(stored["landing"], "--as", "nordbank-intake", "--as-of", DAY, "--out", str(tmp_path / "x.parquet"))
    read(stored["staging"], "--as", "nordbank-intake", "--as-of", DAY)
    assert len(reads()) == 4
    with stored["source"].open(newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    # short values (ages, amounts, flags) match timestamps and hashes by chance; identifiers are long
    values = {v for row in rows[1:] for v in row if len(v) >= 8}
    assert len(values) > 300 and any("@" in v for v in values)
    ledger_text = "\n".join(canonical_json(e.to_dict()) for e in Ledger.open().entries())
    leaked = sorted(v for v in values if v in ledger_text)
    assert not leaked, f"{len(leaked)} data value(s) in the ledger"
