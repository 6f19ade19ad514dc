"""Agreement secrets: each agreement's own namespace, deployment-configured sharing, strength checks."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import secrets
import types

import pyarrow as pa
import pytest

from pactline.agreement import load_text
from pactline.errors import AgreementError, KeyStoreError
from pactline.keys import GENERATE_HINT, AgreementKeys, KeyStore, decode_secret, namespaced
from pactline.pipeline.context import RunContext
from pactline.protect import protect_column
from pactline.store import DataRoot, Keyring

# random-looking keys, as every key must be (generated once with secrets.token_hex(32) / token_urlsafe(32))
FRAUD_KEY = "db96798a5ea5385fc5765f1259106478e01b90963b6c1e5252d991c223b76363"
SHARED_KEY = "sFewmw7Le20-HLdlCvkSN3oJ1vhvqmbYJdEvtGY6o_I"
FRAUD_ENV = "PACTLINE_SECRET_FRAUD_DETECTION__FRAUD_PSEUDONYM_KEY"
EMAILS = ["alice@example.org", "bob@example.org"]

WEAK = {
    "repeated word": "Password123" * 4,
    "repeated hex byte": "ab" * 32,
    "hex of a passphrase": b"my very secret pseudonymisation key".hex(),
    "base64url of a passphrase": base64.urlsafe_b64encode(b"correct horse battery staple, twice over").decode().rstrip("="),
    "passphrase as base64url text": "correct_horse_battery_staple_is_my_secretkey",
    "camel-case passphrase": "CorrectHorseBatteryStaple2024IsMyFavouriteKy",
    "keyboard run": "qwertyuiopasdfghjklzxcvbnm_qwertyuiopasdfghj",
}


def agreement(example_text, agreement_id: str = "fraud-detection", key_name: str = "fraud_pseudonym_key"):
    text = example_text("fraud")
    text = text.replace("  id: fraud-detection\n", f"  id: {agreement_id}\n", 1)
    text = text.replace("pseudonymisation: fraud_pseudonym_key", f"pseudonymisation: {key_name}", 1)
    loaded = load_text(text)
    assert loaded.id == agreement_id
    return loaded


def pseudonyms(loaded, keys) -> list[str]:
    column = loaded.agreement.datasets[0].columns["customer_email"]
    return protect_column(pa.array(EMAILS), "customer_email", column, keys=keys).to_pylist()


def recorder():
    events: list[tuple[str, dict]] = []
    return events, lambda event, **payload: events.append((event, payload))


# -- namespaces ------------------------------------------------------------------------------------


def test_another_agreements_key_name_does_not_reach_its_secret(example_text, monkeypatch):
    monkeypatch.setenv(FRAUD_ENV, FRAUD_KEY)
    monkeypatch.setenv("PACTLINE_SECRET_FRAUD_PSEUDONYM_KEY", SHARED_KEY)  # un-namespaced: nobody's, unless shared
    fraud, other = agreement(example_text), agreement(example_text, "other-lab")
    store = KeyStore()
    assert AgreementKeys(fraud, store).secret("pseudonymisation") == bytes.fromhex(FRAUD_KEY)
    other_secret = AgreementKeys(other, store).secret("pseudonymisation")
    assert other_secret not in (bytes.fromhex(FRAUD_KEY), decode_secret(SHARED_KEY, "shared"))
    assert other_secret == store.secret("other-lab__fraud_pseudonym_key")  # its own, made on first use
    assert (store.home / "keys" / "other-lab__fraud_pseudonym_key.key").exists()
    assert pseudonyms(fraud, AgreementKeys(fraud, store)) != pseudonyms(other, AgreementKeys(other, store))


def test_namespace_boundaries_cannot_be_forged(example_text):
    # 'a__b' in a key name or an agreement id could line up with another agreement's '<id>__<name>':
    # the model refuses both at the line, and the key store refuses them again when a name is resolved
    for kwargs in ({"key_name": "fraud__pseudonym_key"}, {"agreement_id": "fraud-detection__fraud"}):
        with pytest.raises(AgreementError, match=r"'__'|single '_'"):
            agreement(example_text, **kwargs)
    for agreement_id, name in (("fraud-detection", "fraud__pseudonym_key"), ("fraud-detection__fraud", "key"),
                               ("pactline-x", "key")):
        with pytest.raises(KeyStoreError):
            namespaced(agreement_id, name)
    assert namespaced("fraud-detection", "fraud_pseudonym_key") == "fraud-detection__fraud_pseudonym_key"


# -- sharing, configured by the deployment only ----------------------------------------------------


def test_explicit_sharing_gives_both_the_same_secret_and_is_recorded(example_text, monkeypatch):
    monkeypatch.setenv("PACTLINE_SHARED_SECRETS", json.dumps({"fraud_pseudonym_key": ["fraud-detection", "other-lab"]}))
    monkeypatch.setenv("PACTLINE_SECRET_FRAUD_PSEUDONYM_KEY", SHARED_KEY)
    monkeypatch.setenv(FRAUD_ENV, FRAUD_KEY)  # the agreement's own secret is not what a shared name resolves
    fraud, other = agreement(example_text), agreement(example_text, "other-lab")
    events, record = recorder()
    fraud_keys = AgreementKeys(fraud, KeyStore(), record=record)
    assert fraud_keys.secret("pseudonymisation") == decode_secret(SHARED_KEY, "shared")
    fraud_keys.secret("pseudonymisation")  # once per run, however often a step asks
    assert events == [("secret.shared", {"key": "pseudonymisation", "secret": "fraud_pseudonym_key",
                                         "shared_with": ["other-lab"]})]
    assert pseudonyms(fraud, fraud_keys) == pseudonyms(other, AgreementKeys(other, KeyStore()))
    assert SHARED_KEY not in repr(events) and decode_secret(SHARED_KEY, "x").hex() not in repr(events)


def test_run_context_records_the_sharing_in_the_run(example_text, monkeypatch, tmp_path):
    monkeypatch.setenv("PACTLINE_SHARED_SECRETS", json.dumps({"fraud_pseudonym_key": ["other-lab", "fraud-detection"]}))
    events = []
    ctx = RunContext(loaded=agreement(example_text), run_id="manual__1", as_of=dt.date(2027, 1, 1),
                     root=DataRoot(str(tmp_path / "root")), keystore=KeyStore(),
                     recorder=lambda event, payload: events.append((event, payload)))
    first = pseudonyms(ctx.loaded, ctx.keys)
    assert pseudonyms(ctx.loaded, ctx.keys) == first
    assert [e for e in events if e[0] == "secret.shared"] == [
        ("secret.shared", {"key": "pseudonymisation", "secret": "fraud_pseudonym_key", "shared_with": ["other-lab"]})]


def test_an_agreement_not_listed_in_the_sharing_gets_its_own(example_text, monkeypatch):
    monkeypatch.setenv("PACTLINE_SHARED_SECRETS", json.dumps({"fraud_pseudonym_key": ["fraud-detection", "other-lab"]}))
    monkeypatch.setenv("PACTLINE_SECRET_FRAUD_PSEUDONYM_KEY", SHARED_KEY)
    intruder = agreement(example_text, "intruder")
    events, record = recorder()
    secret = AgreementKeys(intruder, KeyStore(), record=record).secret("pseudonymisation")
    assert secret != decode_secret(SHARED_KEY, "shared") and secret == KeyStore().secret("intruder__fraud_pseudonym_key")
    assert events == []


def test_sharing_from_the_resolver_comes_before_the_environment(example_text, monkeypatch):
    monkeypatch.setenv("PACTLINE_SHARED_SECRETS", json.dumps({"fraud_pseudonym_key": ["fraud-detection"]}))
    monkeypatch.setenv("PACTLINE_SECRET_FRAUD_PSEUDONYM_KEY", SHARED_KEY)
    monkeypatch.setenv(FRAUD_ENV, FRAUD_KEY)

    def resolver(name):
        return None
    resolver.shared_secrets = lambda: json.dumps({"other_name": ["fraud-detection"]})  # as operators.runtime does
    assert AgreementKeys(agreement(example_text), KeyStore(resolver=resolver)).secret("pseudonymisation") == \
        bytes.fromhex(FRAUD_KEY)
    assert KeyStore(sharing=lambda: None).shared_secrets() == {"fraud_pseudonym_key": ("fraud-detection",)}


@pytest.mark.parametrize(("config", "says"), [
    ("{not json", "not valid JSON"),
    ('["fraud_pseudonym_key"]', "must be a JSON object"),
    ('{"fraud_pseudonym_key": "fraud-detection"}', "non-empty list of agreement ids"),
    ('{"fraud_pseudonym_key": []}', "non-empty list of agreement ids"),
    ('{"fraud_pseudonym_key": ["Fraud Detection"]}', "not an agreement id"),
    ('{"pactline_kek": ["fraud-detection"]}', "can never be shared"),
    ('{"PACTLINE_KEK": ["fraud-detection"]}', "can never be shared"),
    ('{"a__b": ["fraud-detection"]}', "not a secret name"),
])
def test_a_malformed_sharing_configuration_says_what_is_wrong(example_text, monkeypatch, config, says):
    monkeypatch.setenv("PACTLINE_SHARED_SECRETS", config)
    with pytest.raises(KeyStoreError, match=says) as err:
        AgreementKeys(agreement(example_text), KeyStore()).secret("pseudonymisation")
    assert "PACTLINE_SHARED_SECRETS" in str(err.value)


# -- Pactline's own keys ---------------------------------------------------------------------------


def test_the_model_refuses_pactline_kek_naming_the_line(example_text):
    text = example_text("fraud").replace("pseudonymisation: fraud_pseudonym_key", "pseudonymisation: pactline_kek")
    line = text.splitlines().index("  pseudonymisation: pactline_kek") + 1
    with pytest.raises(AgreementError) as err:
        load_text(text)
    assert f"line {line}" in str(err.value) and "reserved" in str(err.value)


@pytest.mark.parametrize("name", ["pactline_kek", "pactline_kek_previous", "pactline_party_nordbank", "PACTLINE_KEK"])
def test_agreement_keys_refuse_pactline_names_even_past_the_model(monkeypatch, name):
    monkeypatch.setenv("PACTLINE_SECRET_PACTLINE_KEK", FRAUD_KEY)
    loaded = types.SimpleNamespace(id="fraud-detection",
                                   agreement=types.SimpleNamespace(keys=types.SimpleNamespace(pseudonymisation=name)))
    with pytest.raises(KeyStoreError, match="reserved"):
        AgreementKeys(loaded, KeyStore()).secret("pseudonymisation")
    loaded.id = "pactline_party_x"  # nor can an agreement id reach Pactline's names through the namespace
    loaded.agreement.keys.pseudonymisation = "nordbank"
    with pytest.raises(KeyStoreError, match="cannot hold secrets"):
        AgreementKeys(loaded, KeyStore()).secret("pseudonymisation")


# -- strength --------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", list(WEAK))
def test_weak_secrets_are_refused_without_echoing_them(monkeypatch, label):
    weak = WEAK[label]
    with pytest.raises(KeyStoreError) as err:
        decode_secret(weak, "fraud_pseudonym_key")
    message = str(err.value)
    assert GENERATE_HINT in message and "'fraud_pseudonym_key'" in message
    assert not any(weak[i:i + 10] in message for i in range(len(weak) - 9)), "the message echoes the secret"
    # the same for an agreement key through the environment and for the KEK
    monkeypatch.setenv(FRAUD_ENV, weak)
    with pytest.raises(KeyStoreError, match=re.escape(GENERATE_HINT)):
        KeyStore().secret("fraud-detection__fraud_pseudonym_key")
    monkeypatch.setenv("PACTLINE_SECRET_PACTLINE_KEK", weak)
    with pytest.raises(KeyStoreError, match=re.escape(GENERATE_HINT)):
        Keyring(keystore=KeyStore()).create("v1")


def test_a_weak_key_file_is_refused_too(tmp_path):
    store = KeyStore(tmp_path)
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "pactline_kek.key").write_text("7a" * 32)
    with pytest.raises(KeyStoreError, match="repeats a pattern"):
        store.secret("pactline_kek")


def test_random_keys_of_both_encodings_are_accepted():
    for _ in range(100):  # 200 keys; the module docstring of pactline.keys holds the 10,000-key measurement
        raw = secrets.token_bytes(32)
        assert decode_secret(raw.hex(), "k") == raw
        assert decode_secret(base64.urlsafe_b64encode(raw).decode().rstrip("="), "k") == raw
    assert decode_secret(FRAUD_KEY, "k") and decode_secret(SHARED_KEY, "k")


def test_keys_the_store_creates_pass_its_own_check(tmp_path):
    store = KeyStore(tmp_path)
    made = store.secret("pactline_kek")
    assert len(made) == 32 and decode_secret((tmp_path / "keys" / "pactline_kek.key").read_text(), "k") == made
