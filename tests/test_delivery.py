"""Delivery to the recipient: the signed release on the exchange, the key released under the access grants
(and refused outside them: 403, or 410 once purged), and the recipient's verified fetch into its own store."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from pactline.agreement import load_agreement
from pactline.delivery.fetch import fetch_release, received_dir
from pactline.delivery.key_release import KeyRefused, unwrap_key
from pactline.delivery.signed_manifest import ManifestRefused, sign_manifest
from pactline.parties import PartyKeys
from pactline.store import DataRoot
from pactline.store.exchange import open_exchange, release_dir
from tests.conftest import OUTPUT, Provider, amend


@pytest.fixture
def provider(workspace, tmp_path):
    return Provider(workspace, tmp_path)


def fetch(provider, tmp_path, events, **kw):
    root = DataRoot(str(tmp_path / "recipient"))
    result = fetch_release(provider.ctx.loaded, OUTPUT, provider.release["version"], root=root,
                           request_key=kw.pop("request_key", lambda vid: provider.key(version_id=vid)),
                           record=lambda e, p: events.append((e, p)), **kw)
    return root, result


def test_publish_hands_the_signed_release_to_the_exchange(provider):
    exported = provider.release["exchange"]
    assert exported["exported"] and exported["signed_by"] == "nordbank"
    exchange = open_exchange()
    folder = release_dir("fraud-detection", OUTPUT, provider.release["version"])
    manifest = json.loads(exchange.read_raw(f"{folder}/manifest.json"))
    assert manifest["provider_signature"]["party"] == "nordbank"
    assert exchange.read_raw(f"{folder}/data.parquet") == provider.ctx.root.read_raw(provider.release["path"])
    data_key = provider.ctx.vault.data_key(provider.release["version_id"])
    for path in (exchange.local_path("")).rglob("*"):  # the data key never travels
        if path.is_file():
            assert data_key not in path.read_bytes() and data_key.hex().encode() not in path.read_bytes()


def test_fetch_within_the_grant_stores_the_release_in_the_recipients_own_store(provider, tmp_path):
    events: list = []
    root, got = fetch(provider, tmp_path, events)
    released = provider.ctx.root.read_table(provider.release["path"])
    received = root.read_table(f"{received_dir('fraud-detection', OUTPUT, provider.release['version'])}/data.parquet")
    assert received.equals(released) and got["rows"] == released.num_rows == 300
    assert got["version_id"] != provider.release["version_id"]  # re-encrypted under the recipient's own key
    assert b"cust_" not in root.read_raw(f"{got['path']}/data.parquet")
    [(_, released_entry)] = [x for x in provider.events if x[0] == "key.released"]
    assert released_entry["principal"] == "fraud-lab-analysts" and released_entry["expires"] == "2027-12-31"
    assert released_entry["grant"] == {"principal": "fraud-lab-analysts", "zone": "sandbox", "valid_until": "2027-12-31"}
    assert [e for e, _ in events] == ["release.received"]


def test_only_the_recipient_party_can_open_the_key(provider):
    response = provider.key()
    assert len(unwrap_key(response, "fraud-detection", PartyKeys(), "fraud-lab")) == 32
    with pytest.raises(Exception):  # noqa: B017 - HPKE's own error: shopco's key does not open it
        unwrap_key(response, "fraud-detection", PartyKeys(), "shopco")


@pytest.mark.parametrize(("kwargs", "clause", "status"), [
    ({"party": "shopco"}, "outputs[transactions-release].recipient", 403),
    ({"principal": "somebody-else"}, "access", 403),
    ({"as_of": dt.date(2028, 1, 1)}, "metadata.expires", 403),
    ({"version_id": "v20270101000000-0000000000000000"}, "outputs", 404),
])
def test_key_requests_outside_the_agreement_are_refused_and_recorded(provider, kwargs, clause, status):
    with pytest.raises(KeyRefused) as err:
        provider.key(**kwargs)
    assert err.value.clause == clause and err.value.status == status
    refused = [p for e, p in provider.events if e == "key.refused"]
    assert refused and refused[-1]["clause"] == clause
    assert not [e for e, _ in provider.events if e == "key.released"]


def test_a_grant_past_valid_until_is_refused(workspace, tmp_path):
    path = workspace / "agreements" / "fraud.yaml"
    amend(path, path.read_text().replace("permissions: [read], valid_until: 2027-12-31",
                                         "permissions: [read], valid_until: 2027-06-30"))
    provider = Provider(workspace, tmp_path)
    assert provider.key(as_of=dt.date(2027, 6, 30))["expires"] == "2027-06-30"
    with pytest.raises(KeyRefused) as err:
        provider.key(as_of=dt.date(2027, 7, 1))
    assert err.value.clause == "access" and "ended on 2027-06-30" in str(err.value)


def test_after_the_purge_the_key_is_gone(provider):
    catalog = provider.ctx.vault.catalog
    catalog.update(provider.release["version_id"], expect=["live"], state="purged", purge_reason="retention")
    with pytest.raises(KeyRefused) as err:
        provider.key()
    assert err.value.status == 410 and "purged" in str(err.value)


def _nothing_stored(tmp_path, provider):
    folder = tmp_path / "recipient" / received_dir("fraud-detection", OUTPUT, provider.release["version"])
    assert not folder.exists() or not any(folder.iterdir())
    assert not [v for v in provider.ctx.vault.catalog.versions("fraud-detection") if v.area == "received"]


def test_a_tampered_manifest_is_refused_and_nothing_stored(provider, tmp_path):
    exchange = open_exchange()
    rel = f"{release_dir('fraud-detection', OUTPUT, provider.release['version'])}/manifest.json"
    manifest = json.loads(exchange.read_raw(rel))
    manifest["rows"]["released"] += 1
    exchange.write_bytes(rel, json.dumps(manifest).encode())
    events: list = []
    with pytest.raises(ManifestRefused, match="altered after it was signed"):
        fetch(provider, tmp_path, events, request_key=lambda vid: pytest.fail("asked for a key"))
    assert [e for e, _ in events] == ["release.refused"]
    _nothing_stored(tmp_path, provider)


def test_a_file_with_another_hash_is_refused(provider, tmp_path):
    exchange = open_exchange()
    rel = f"{release_dir('fraud-detection', OUTPUT, provider.release['version'])}/data.parquet"
    raw = bytearray(exchange.read_raw(rel))
    raw[100] ^= 1
    exchange.write_bytes(rel, bytes(raw))
    with pytest.raises(ManifestRefused, match="does not have the hash its manifest lists"):
        fetch(provider, tmp_path, [], request_key=lambda vid: pytest.fail("asked for a key"))
    _nothing_stored(tmp_path, provider)


def resign(provider, party: str, fingerprint: str | None = None) -> None:
    """Replace the release's manifest on the exchange with one `party` signed (its real key), optionally
    naming other terms."""
    exchange = open_exchange()
    rel = f"{release_dir('fraud-detection', OUTPUT, provider.release['version'])}/manifest.json"
    manifest = json.loads(exchange.read_raw(rel))
    manifest.pop("provider_signature")
    if fingerprint is not None:
        manifest["agreement"]["fingerprint"] = fingerprint
    exchange.write_bytes(rel, json.dumps(sign_manifest(manifest, party, PartyKeys().private(party))).encode())


@pytest.mark.parametrize(("party", "fingerprint", "why"), [
    ("nordbank", "0" * 64, "which fraud-lab never signed"),  # the real provider key, under foreign terms
    ("shopco", None, "not by the provider nordbank"),  # another party's key
])
def test_a_manifest_under_other_terms_or_by_another_signer_is_refused(provider, tmp_path, party, fingerprint, why):
    resign(provider, party, fingerprint)
    with pytest.raises(ManifestRefused, match=why):
        fetch(provider, tmp_path, [], request_key=lambda vid: pytest.fail("asked for a key"))
    _nothing_stored(tmp_path, provider)


def test_cli_fetch_on_the_embedded_default(provider, capsys):
    from pactline.cli.main import main
    from pactline.recording import open_ledger

    path = str(provider.path)
    assert main(["fetch", OUTPUT, "--agreement", path, "--as-of", "2027-01-01"]) == 2  # who asks?
    assert main(["fetch", OUTPUT, "--agreement", path, "--as", "fraud-lab-analysts", "--as-of", "2027-01-01"]) == 0
    assert "received transactions-release" in capsys.readouterr().out
    assert main(["fetch", OUTPUT, "--agreement", path, "--as", "fraud-lab-analysts", "--as-of", "2028-02-01"]) == 1
    assert "the key was refused (403)" in capsys.readouterr().err
    events = [e.event for e in open_ledger().entries()]
    assert events.count("release.received") == 1 and "key.refused" in events


def _settle(today):
    from pactline.delivery.attest import settle
    from pactline.recording import open_ledger
    from pactline.store import default_vault

    loaded = load_agreement(_settle.path)
    return settle({loaded.id: loaded}, catalog=default_vault().catalog, ledger=open_ledger(), today=today,
                  party_keys=PartyKeys(), actor="test")


def test_the_recipients_deletion_is_attested_to_the_provider(provider, tmp_path):
    from pactline.delivery.attest import deliveries, delivery_events, texts_made_under
    from pactline.recording import open_ledger
    from pactline.retention import run_purge

    _settle.path = provider.path
    fetch_release(provider.ctx.loaded, OUTPUT, provider.release["version"], root=provider.ctx.root,
                  request_key=lambda vid: provider.key(version_id=vid), record=lambda e, p: None)
    provider.events.clear()
    ledger = open_ledger()
    for event, payload in [("key.released", {"version_id": provider.release["version_id"]})]:
        ledger.append(event, agreement_id="fraud-detection", payload=payload)
    assert _settle(dt.date(2027, 1, 1)) == {"attestations_sent": [], "attested": 0, "overdue_incidents": []}
    # the embedded default is both parties: one purge deletes the provider's release and the received copy
    report = run_purge(dt.date(2027, 6, 1), agreements=[provider.path.parent], root=provider.ctx.root)
    assert not report.errors and len(report.receipts) >= 2
    settled = _settle(dt.date(2027, 6, 1))
    assert len(settled["attestations_sent"]) == 1 and settled["attested"] == 1 and settled["overdue_incidents"] == []
    attested = [x.payload for x in ledger.entries(event="deletion.attested")]
    assert attested[0]["party"] == "fraud-lab" and attested[0]["version"] == provider.release["version"]
    assert _settle(dt.date(2027, 6, 2))["attested"] == 0  # once
    loaded = load_agreement(provider.path)
    catalog = provider.ctx.vault.catalog
    releases = catalog.versions(loaded.id)
    [d] = deliveries(loaded, releases, delivery_events(ledger, loaded.id), dt.date(2027, 6, 2),
                     texts_made_under(loaded, releases, catalog))
    assert d.state == "deletion attested"


def test_a_release_never_attested_becomes_overdue_once(provider):
    from pactline.recording import open_ledger

    _settle.path = provider.path
    ledger = open_ledger()
    ledger.append("key.released", agreement_id="fraud-detection", payload={"version_id": provider.release["version_id"]})
    assert _settle(dt.date(2027, 1, 1))["overdue_incidents"] == []  # not due yet
    later = dt.date.today() + dt.timedelta(days=60 + 8)  # sandbox_days 60, then 7 days of grace
    assert _settle(later)["overdue_incidents"] == [provider.release["version_id"]]
    assert _settle(later)["overdue_incidents"] == []
    [incident] = [x.payload for x in ledger.entries(event="incident.opened") if x.payload.get("kind") == "deletion.overdue"]
    assert "fraud-lab has not attested deleting transactions-release" in incident["summary"]


def test_a_release_falls_due_under_the_text_it_was_made_under(provider):
    """An amendment that lengthens retention after a release does not move that release's due date."""
    from pactline.recording import open_ledger

    _settle.path = provider.path
    open_ledger().append("key.released", agreement_id="fraud-detection",
                         payload={"version_id": provider.release["version_id"]})
    amend(provider.path, provider.path.read_text().replace("sandbox_days: 60", "sandbox_days: 400"))
    later = dt.date.today() + dt.timedelta(days=60 + 8)  # overdue under the text the release was made under
    assert _settle(later)["overdue_incidents"] == [provider.release["version_id"]]


def test_a_forged_attestation_is_not_recorded(provider):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from pactline.recording import open_ledger
    from pactline.store.exchange import attestation_path

    _settle.path = provider.path
    body = {"agreement_id": "fraud-detection", "output": OUTPUT, "version": provider.release["version"],
            "party": "fraud-lab"}
    from pactline.delivery.attest import CONTEXT
    from pactline.parties.party_keys import sign_statement

    forged = sign_statement(Ed25519PrivateKey.generate(), CONTEXT, body)  # not fraud-lab's key
    open_exchange().write_bytes(attestation_path("fraud-detection", OUTPUT, provider.release["version"], "fraud-lab"),
                                json.dumps({"body": body, "signature": forged}).encode())
    assert _settle(dt.date(2027, 1, 1))["attested"] == 0
    assert [x.event for x in open_ledger().entries(event="deletion.attestation_refused")]


def test_cli_deliveries_lists_each_release(provider, capsys, monkeypatch):
    from pactline.cli.main import main

    monkeypatch.setenv("PACTLINE_DATA_ROOT", provider.ctx.root.url)
    assert main(["deliveries", "--agreements", str(provider.path.parent), "--as-of", "2027-01-01", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["deliveries"]
    assert [(d["output"], d["state"]) for d in listed] == [(OUTPUT, "on the exchange")]


def test_the_received_copy_is_read_only_under_the_grant_and_due_with_the_release(provider, tmp_path, capsys,
                                                                                 monkeypatch):
    """After the grant ends no read of the recipient's copy succeeds; the copy is due the day the release is."""
    from pactline.cli.main import main
    from pactline.retention.due import due_date

    root, got = fetch(provider, tmp_path, [])
    monkeypatch.setenv("PACTLINE_DATA_ROOT", root.url)
    monkeypatch.setenv("PACTLINE_AGREEMENTS", str(provider.path.parent))
    path = f"{got['path']}/data.parquet"
    assert main(["read", path, "--as", "fraud-lab-analysts", "--as-of", "2027-12-31", "--head", "1"]) == 0
    assert main(["read", path, "--as", "fraud-lab-analysts", "--as-of", "2028-01-01", "--head", "1"]) == 1
    assert "refused" in capsys.readouterr().err
    catalog = provider.ctx.vault.catalog
    loaded = load_agreement(provider.path)
    assert (due_date(catalog.get(got["version_id"]), loaded)
            == due_date(catalog.get(provider.release["version_id"]), loaded))
