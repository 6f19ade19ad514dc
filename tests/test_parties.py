"""Party keys and signed agreement versions: every state a signature can be in, the refusal to run an
unsigned version (a PolicyViolation naming who is missing, an incident), the signed-version history and
its ledger entries, and a version number that never takes a second text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pactline.agreement import load_agreement
from pactline.cli.main import main
from pactline.errors import PolicyViolation
from pactline.parties import PartyKeys, SignedVersions, sign, signature_statuses
from pactline.parties.consent import require_consent
from pactline.parties.signatures import signature_path
from pactline.recording import open_ledger
from tests.conftest import AGREEMENTS, amend, sign_all

PARTIES = {"nordbank", "shopco", "fraud-lab"}


@pytest.fixture
def fraud(tmp_path) -> Path:
    path = tmp_path / "agreements" / "fraud.yaml"
    path.parent.mkdir()
    path.write_text((AGREEMENTS / "fraud.yaml").read_text())
    return path


def states(path: Path) -> dict[str, str]:
    return {s.party: s.state for s in signature_statuses(load_agreement(path))}


def entries(event: str) -> list:
    return [e for e in open_ledger().entries() if e.event == event]


def test_an_agreement_without_keys_or_signatures_does_not_run(fraud, capsys):
    assert states(fraud) == dict.fromkeys(PARTIES, "no_key")
    assert main(["signatures", str(fraud)]) == 1
    assert "keys/nordbank.pub is missing" in capsys.readouterr().out
    assert main(["keys", "new", "--agreement", str(fraud), "--all-parties"]) == 0
    assert states(fraud) == dict.fromkeys(PARTIES, "missing")
    with pytest.raises(PolicyViolation, match=r"missing: nordbank, shopco, fraud-lab") as err:
        require_consent(load_agreement(fraud), lambda *a: None)
    assert err.value.clause == "parties"


def test_every_party_signs_and_the_version_is_kept(fraud, capsys):
    sign_all(fraud)
    assert states(fraud) == dict.fromkeys(PARTIES, "signed")
    capsys.readouterr()
    assert main(["signatures", str(fraud), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["complete"] and {p["party"] for p in report["parties"]} == PARTIES
    loaded = load_agreement(fraud)
    signed = entries("agreement.signed")
    assert {e.payload["party"] for e in signed} == PARTIES
    assert all(e.fingerprint == loaded.fingerprint and e.payload["version"] == "2.1.0" for e in signed)
    [version] = SignedVersions().versions(loaded.id)
    assert version.complete and version.fingerprint == loaded.fingerprint
    assert load_agreement(fraud).agreement == load_agreement_text(version.canonical)
    # seen again at run time: no second ledger entry for the same signature
    sigs = require_consent(loaded, lambda event, payload: pytest.fail(f"recorded {event} twice"))
    assert {s.party for s in sigs} == PARTIES


def load_agreement_text(text: str):
    from pactline.agreement import load_text

    return load_text(text).agreement


def test_a_missing_signature_names_the_party(fraud):
    sign_all(fraud)
    signature_path(fraud, "shopco").unlink()
    assert states(fraud)["shopco"] == "missing"
    with pytest.raises(PolicyViolation, match=r"missing: shopco\)"):
        require_consent(load_agreement(fraud), lambda *a: None)


def test_an_altered_or_forged_signature_is_invalid(fraud):
    sign_all(fraud)
    path = signature_path(fraud, "nordbank")
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "signed_at": "2020-01-01T00:00:00Z"}))  # altered after signing
    assert states(fraud)["nordbank"] == "invalid"
    # shopco's signature file copied as nordbank's: made for another party
    path.write_text(signature_path(fraud, "shopco").read_text())
    assert states(fraud)["nordbank"] == "invalid"
    path.write_text("not json")
    assert states(fraud)["nordbank"] == "invalid"
    # a signature by a key that is not nordbank's, claiming to be nordbank's
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    forged = json.loads(signature_path(fraud, "shopco").read_text())
    other = sign(load_agreement(fraud), "shopco", PartyKeys().private("shopco"), write=False)
    forged.update(party="nordbank", signature=other.signature)
    path.write_text(json.dumps(forged))
    assert states(fraud)["nordbank"] == "invalid"
    with pytest.raises(PolicyViolation, match="cannot sign for nordbank"):
        sign(load_agreement(fraud), "nordbank", Ed25519PrivateKey.generate())
    with pytest.raises(PolicyViolation, match="invalid: nordbank"):
        require_consent(load_agreement(fraud), lambda *a: None)


def test_a_signature_for_an_older_version_does_not_count(fraud):
    sign_all(fraud)
    text = fraud.read_text().replace("max_drift: 0.2", "max_drift: 0.3").replace('version: "2.1.0"', 'version: "2.2.0"')
    fraud.write_text(text)
    assert states(fraud) == dict.fromkeys(PARTIES, "other_version")
    assert main(["sign", str(fraud), "--party", "nordbank"]) == 0
    assert states(fraud) == {"nordbank": "signed", "shopco": "other_version", "fraud-lab": "other_version"}
    with pytest.raises(PolicyViolation, match="other version: shopco, fraud-lab"):
        require_consent(load_agreement(fraud), lambda *a: None)


def test_a_signed_version_number_never_takes_another_text(fraud, capsys):
    sign_all(fraud)
    fraud.write_text(fraud.read_text().replace("max_drift: 0.2", "max_drift: 0.5"))  # same version 2.1.0
    assert main(["sign", str(fraud), "--all-local"]) == 1
    assert "needs a new metadata.version" in capsys.readouterr().err
    with pytest.raises(PolicyViolation, match="was already signed with fingerprint") as err:
        require_consent(load_agreement(fraud), lambda *a: None)
    assert err.value.clause == "metadata.version"


def test_a_rotated_party_key_needs_a_new_signature(fraud):
    sign_all(fraud)
    old_public = (fraud.parent / "keys" / "shopco.pub").read_text()
    assert main(["keys", "new", "--party", "shopco", "--agreement", str(fraud)]) == 2  # never silently replaced
    assert main(["keys", "new", "--party", "shopco", "--agreement", str(fraud), "--rotate"]) == 0
    assert (fraud.parent / "keys" / "shopco.pub").read_text() != old_public
    assert states(fraud)["shopco"] == "rotated_key"
    assert states(fraud)["nordbank"] == "other_version"  # signed over the old set of keys
    sign_all(fraud)
    assert states(fraud) == dict.fromkeys(PARTIES, "signed")


def test_a_key_swapped_into_the_agreement_for_this_deployments_party_is_caught(fraud, monkeypatch):
    """A counterparty rewrites nordbank's public key to its own and signs for nordbank with it."""
    sign_all(fraud)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from pactline.parties import public_key_text

    mallory = Ed25519PrivateKey.generate()
    (fraud.parent / "keys" / "nordbank.pub").write_text(public_key_text(mallory.public_key()))
    loaded = load_agreement(fraud)
    # mallory can make a signature that verifies against the key the file now names ...
    with monkeypatch.context() as m:
        m.setattr(PartyKeys, "public_text", lambda self, party: None)  # a deployment holding no party key
        sign(loaded, "nordbank", mallory)
        assert states(fraud)["nordbank"] == "signed"
    # ... but nordbank's own deployment knows its key, and refuses
    assert states(fraud)["nordbank"] == "invalid"
    [status] = [s for s in signature_statuses(loaded) if s.party == "nordbank"]
    assert "another key for this party" in status.detail


def test_run_refuses_an_unsigned_version_with_an_incident(airflow_home, workspace):
    from tests.conftest import releases, run_dag

    path = workspace / "agreements" / "fraud.yaml"
    signature_path(path, "fraud-lab").unlink()
    loaded = load_agreement(path)
    run = run_dag(path)
    assert "fail" in str(run.state).lower() and releases(loaded.id, run.run_id) == {}
    failed = [e.payload for e in entries("step.failed") if e.payload.get("run_id") == run.run_id]
    assert failed and all(f["error_type"] == "PolicyViolation" and "missing: fraud-lab" in f["error"] for f in failed)
    incidents = [e.payload for e in entries("incident.opened") if e.payload.get("run_id") == run.run_id]
    assert incidents and all(i["kind"] == "policy.parties" for i in incidents)
    assert not [e for e in entries("data.ingested") if e.payload.get("run_id") == run.run_id]


def test_amended_text_shows_in_diff_against_the_last_signed(fraud, capsys):
    sign_all(fraud)
    amend(fraud, fraud.read_text().replace("sandbox_days: 60", "sandbox_days: 90"))
    capsys.readouterr()
    assert main(["diff", str(fraud)]) == 0
    out = capsys.readouterr().out
    assert "WIDENING" in out and "sandbox_days" in out


def test_cli_run_says_why_an_unsigned_version_does_not_run(fraud, capsys):
    assert main(["keys", "new", "--agreement", str(fraud), "--all-parties"]) == 0
    assert main(["sign", str(fraud), "--party", "nordbank"]) == 0
    assert main(["run", str(fraud)]) == 1
    err = capsys.readouterr().err
    assert "refused:" in err and "missing: shopco, fraud-lab" in err and "pactline sign FILE --party ID" in err
