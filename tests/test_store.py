"""The encrypted, versioned store: Parquet modular encryption and AES-GCM envelopes keyed per version,
crypto-shredding (a copy taken before the shred is unreadable after it), the keyring and the catalog
on real SQLite and real PostgreSQL, and a pipeline run that leaves nothing personal in clear.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import sqlite3
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pactline.keys import KeyStore
from pactline.store import (
    Catalog,
    DataKeyNotFoundError,
    DataRoot,
    Keyring,
    KeyShreddedError,
    TamperedDataError,
    Vault,
    VersionStateError,
    WrongKekError,
)
from pactline.store.envelope import MAGIC, TAG, EnvelopeReader, open_bytes, seal_bytes
from pactline.store.parquet_crypto import decryption_properties

SECRET_VALUE = "alice.secret@example.org"
# KEKs: random-looking, as every key must be (pactline.keys refuses repeated patterns and passphrases)
KEK_A = "59a11964889304dd4f7929c9c9d3e42c40fc02bcac4d5327830e945c025b4704"
KEK_B = "550530d8f6793c496544fac7675fad026e948b7e60e079dd7acff3f871d5b045"
KEK_C = "70df1947731811a981fd9a5bb7362ba47a11aaf6cbec4bb09daaed3c8601e29e"


@pytest.fixture
def root(tmp_path) -> DataRoot:
    return DataRoot(str(tmp_path / "root"), vault=Vault.open())


def new_version(root: DataRoot, base: str = "agr/staging/ds/run-1", area: str = "staging", **kw) -> object:
    return root.vault.new_version(Catalog.new_record("agr", area, kw.pop("zone", area), "ds", base, **kw))


def people(n: int = 50) -> pa.Table:
    return pa.table({"id": list(range(n)), "email": [SECRET_VALUE if i == 7 else f"p{i}@example.com" for i in range(n)],
                     "score": [i / 10 for i in range(n)]})


# -- Parquet modular encryption -------------------------------------------------------------


def test_encrypted_parquet_round_trip_and_unreadable_without_the_key(root, tmp_path, monkeypatch):
    v = new_version(root)
    root.write_table("agr/staging/ds/run-1/people.parquet", people(), version=v)
    assert root.read_table("agr/staging/ds/run-1/people.parquet").equals(people())
    raw = root.read_raw("agr/staging/ds/run-1/people.parquet")
    assert raw[:4] == raw[-4:] == b"PARE"  # encrypted footer: nothing, not even the schema, in clear
    assert SECRET_VALUE.encode() not in raw and b"email" not in raw
    with pytest.raises(OSError, match="no decryption"):
        pq.read_table(io.BytesIO(raw))  # any engine without the key
    record = root.file_record("agr/staging/ds/run-1/people.parquet")
    assert record.encryption == "parquet" and record.rows == 50 and record.bytes == len(raw)
    # another deployment (its own keyring) cannot read it either
    monkeypatch.setenv("PACTLINE_HOME", str(tmp_path / "elsewhere"))
    with pytest.raises(DataKeyNotFoundError):
        DataRoot(root.url, vault=Vault.open()).read_table("agr/staging/ds/run-1/people.parquet")


def test_streaming_parquet_writer_and_clear_writes_without_a_version(root):
    v = new_version(root)
    with root.parquet_writer("agr/staging/ds/run-1/big.parquet", people().schema, version=v) as w:
        for batch in people(1000).to_batches(max_chunksize=100):
            w.write_batch(batch)
    with root.open_parquet("agr/staging/ds/run-1/big.parquet") as pf:
        assert pf.metadata.num_rows == 1000
    root.write_json("agr/receipts/r.json", {"ok": True})  # no version: clear by design (receipts, manifests)
    assert root.read_raw("agr/receipts/r.json").startswith(b"{")


def test_copy_taken_before_shred_cannot_be_decrypted(root, tmp_path):
    v = new_version(root)
    root.write_table("agr/staging/ds/run-1/people.parquet", people(), version=v)
    root.write_bytes("agr/staging/ds/run-1/notes.txt", f"call {SECRET_VALUE}".encode(), version=v)
    backup = tmp_path / "backup"
    shutil.copytree(root.local_path("agr"), backup / "agr")  # e.g. last night's backup of the bucket
    copy = DataRoot(str(backup), vault=root.vault)
    assert copy.read_table("agr/staging/ds/run-1/people.parquet").num_rows == 50
    assert SECRET_VALUE in copy.read_bytes("agr/staging/ds/run-1/notes.txt").decode()

    root.vault.keyring.destroy(v.version_id, "retention.staging_days")

    with pytest.raises(KeyShreddedError, match="crypto-shredded"):
        copy.read_table("agr/staging/ds/run-1/people.parquet")
    with pytest.raises(KeyShreddedError):
        copy.read_bytes("agr/staging/ds/run-1/notes.txt")
    with pytest.raises(KeyShreddedError):  # the copy, opened directly with pyarrow and the keyring as KMS
        pq.read_table(backup / "agr/staging/ds/run-1/people.parquet",
                      decryption_properties=decryption_properties(root.vault.data_key))
    with pytest.raises(KeyShreddedError):  # a shredded version never gets a key again
        root.vault.keyring.create(v.version_id)


# -- envelope encryption ----------------------------------------------------------------------

CHUNK = 64


def sealed(data: bytes, key: bytes) -> bytes:
    return seal_bytes(data, "v-test", key, chunk_size=CHUNK)


def opened(blob: bytes, key: bytes) -> bytes:
    return open_bytes(blob, lambda _vid: key, chunk_size=CHUNK)


def test_envelope_round_trip_with_random_access():
    key = os.urandom(32)
    data = os.urandom(CHUNK * 5 + 17)
    blob = sealed(data, key)
    assert opened(blob, key) == data
    assert opened(sealed(b"", key), key) == b""
    assert opened(sealed(data[: CHUNK * 2], key), key) == data[: CHUNK * 2]  # last chunk exactly full
    reader = EnvelopeReader(io.BytesIO(blob), lambda _vid: key, chunk_size=CHUNK)
    assert reader.version_id == "v-test" and reader.size == len(data)
    reader.seek(CHUNK * 3 + 5)
    assert reader.read(100) == data[CHUNK * 3 + 5: CHUNK * 3 + 105]
    reader.seek(-10, io.SEEK_END)
    assert reader.read() == data[-10:]


def test_envelope_detects_truncation_reordering_and_tampering():
    key = os.urandom(32)
    data = os.urandom(CHUNK * 4 + 10)
    blob = sealed(data, key)
    header = len(blob) - (4 * (CHUNK + TAG) + 10 + TAG)
    chunks = [blob[header + i * (CHUNK + TAG): header + (i + 1) * (CHUNK + TAG)] for i in range(5)]
    assert b"".join(chunks) == blob[header:]
    head = blob[:header]
    attacks = {
        "last chunk dropped (cut at a chunk boundary)": head + b"".join(chunks[:4]),
        "cut inside a chunk": blob[:-5],
        "cut inside a tag": blob[: header + CHUNK + TAG + 7],
        "two chunks swapped": head + chunks[1] + chunks[0] + b"".join(chunks[2:]),
        "a chunk repeated": head + chunks[0] + chunks[0] + b"".join(chunks[2:]),
        "a chunk appended": blob + chunks[1],
        "one bit flipped": blob[:-20] + bytes([blob[-20] ^ 1]) + blob[-19:],
        "header relabelled": head.replace(b"v-test", b"v-tesT") + blob[header:],
    }
    for what, bad in attacks.items():
        with pytest.raises(TamperedDataError):
            opened(bad, key)
            pytest.fail(f"not detected: {what}")
    with pytest.raises(TamperedDataError):
        opened(blob, os.urandom(32))  # another version's key


def test_envelope_blob_through_the_root_is_encrypted_at_rest(root):
    v = new_version(root, "agr/landing/ds/abc", area="landing")
    payload = ("id,email\n" + "".join(f"{i},{SECRET_VALUE}\n" for i in range(20000))).encode()
    with root.open_write("agr/landing/ds/abc/source.csv", version=v) as fh:
        for i in range(0, len(payload), 100_000):
            fh.write(payload[i: i + 100_000])
    stored = root.read_raw("agr/landing/ds/abc/source.csv")
    assert stored.startswith(MAGIC) and SECRET_VALUE.encode() not in stored
    assert root.read_bytes("agr/landing/ds/abc/source.csv") == payload
    record = root.file_record("agr/landing/ds/abc/source.csv")
    import hashlib

    assert record.plaintext_sha256 == hashlib.sha256(payload).hexdigest()
    assert record.sha256 == hashlib.sha256(stored).hexdigest() and record.encryption == "envelope"


# -- keyring and catalog on both backends --------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    return request.getfixturevalue("pg_url")


def test_keyring_create_get_destroy(db_url, tmp_path):
    ring = Keyring(db_url, keystore=KeyStore(tmp_path / "keys"))
    ring.create("v1")
    key = ring.get("v1")
    assert len(key) == 32
    ring.create("v1")  # idempotent: the key does not change
    assert ring.get("v1") == key
    ring.create("v2")
    assert ring.get("v2") != key
    first = ring.destroy("v1", "retention.landing_days")
    assert ring.destroy("v1", "again") == first  # idempotent, keeps the first time and reason
    with pytest.raises(KeyShreddedError) as info:
        ring.get("v1")
    assert info.value.version_id == "v1" and info.value.reason == "retention.landing_days"
    assert ring.status("v1").destroyed and not ring.status("v2").destroyed
    with pytest.raises(DataKeyNotFoundError):
        ring.get("never-made")
    ring.destroy("never-made", "purge of a version whose key was never created")
    with pytest.raises(KeyShreddedError):
        ring.create("never-made")
    # a node with another KEK is told so instead of decrypting garbage
    with pytest.raises(WrongKekError):
        Keyring(db_url, keystore=KeyStore(tmp_path / "other-keys")).get("v2")


def test_keyring_kek_comes_from_the_key_store_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PACTLINE_SECRET_PACTLINE_KEK", KEK_A)
    ring = Keyring(f"sqlite:///{tmp_path / 'k.sqlite'}", keystore=KeyStore(tmp_path / "keys"))
    ring.create("v1")
    assert not (tmp_path / "keys").exists()  # no local key file: the environment gave the KEK
    monkeypatch.setenv("PACTLINE_SECRET_PACTLINE_KEK", KEK_B)
    with pytest.raises(WrongKekError):
        Keyring(f"sqlite:///{tmp_path / 'k.sqlite'}", keystore=KeyStore(tmp_path / "keys")).get("v1")


def test_kek_rotation_rewraps_live_keys_and_reads_work_throughout(db_url, tmp_path, monkeypatch):
    old, new, stranger = KEK_A, KEK_B, KEK_C
    keys = KeyStore(tmp_path / "keys")
    monkeypatch.setenv("PACTLINE_SECRET_PACTLINE_KEK", old)
    ring = Keyring(db_url, keystore=keys)
    for v in ("v1", "v2", "v3"):
        ring.create(v)
    before = {v: ring.get(v) for v in ("v1", "v2")}
    ring.destroy("v3", "retention.staging_days")

    monkeypatch.setenv("PACTLINE_SECRET_PACTLINE_KEK", new)  # mid-rotation: both configured
    monkeypatch.setenv("PACTLINE_SECRET_PACTLINE_KEK_PREVIOUS", old)
    ring = Keyring(db_url, keystore=keys)
    assert ring.get("v1") == before["v1"]  # readable through the previous KEK before the rotation
    ring.create("v4")  # a key made meanwhile is wrapped under the new KEK
    done = ring.rotate()
    assert done.ok and done.rewrapped == 2 and done.already_current == 1 and done.previous != done.current
    again = ring.rotate()
    assert again.rewrapped == 0 and again.already_current == 3  # idempotent

    monkeypatch.delenv("PACTLINE_SECRET_PACTLINE_KEK_PREVIOUS")  # the old KEK retired
    ring = Keyring(db_url, keystore=keys)
    assert {v: ring.get(v) for v in ("v1", "v2")} == before  # same data keys: no file is rewritten
    with pytest.raises(KeyShreddedError):
        ring.get("v3")  # a destroyed key stays destroyed

    monkeypatch.setenv("PACTLINE_SECRET_PACTLINE_KEK", stranger)  # a KEK nobody wrapped with
    with pytest.raises(WrongKekError, match="pactline_kek_previous"):
        Keyring(db_url, keystore=keys).get("v1")
    refused = Keyring(db_url, keystore=keys).rotate()
    assert not refused.ok and refused.rewrapped == 0 and refused.other_kek == {done.current: 3}


def test_rotate_kek_command_on_the_embedded_default(root, tmp_path, capsys):
    """Rename the local KEK file to pactline_kek_previous.key, run the command: a new KEK wraps every key."""
    from pactline.cli.main import main
    from pactline.keys import pactline_home
    from pactline.recording import open_ledger

    new_version(root)
    root.write_table("agr/staging/ds/run-1/data.parquet", people())
    keys = pactline_home() / "keys"
    old_kek = (keys / "pactline_kek.key").read_text().strip()
    (keys / "pactline_kek.key").rename(keys / "pactline_kek_previous.key")
    assert main(["rotate-kek"]) == 0
    assert "1 data key(s) re-wrapped" in capsys.readouterr().out
    (keys / "pactline_kek_previous.key").unlink()
    new_kek = (keys / "pactline_kek.key").read_text().strip()
    assert new_kek != old_kek
    fresh = DataRoot(str(tmp_path / "root"), vault=Vault.open())
    assert fresh.read_table("agr/staging/ds/run-1/data.parquet").equals(people())
    [entry] = [e for e in open_ledger().entries() if e.event == "kek.rotated"]
    assert entry.payload["rewrapped"] == 1 and entry.payload["previous_kek"] != entry.payload["current_kek"]
    assert old_kek not in json.dumps(entry.payload) and new_kek not in json.dumps(entry.payload)


def test_sqlite_keyring_overwrites_destroyed_keys(tmp_path):
    path = tmp_path / "keyring.sqlite"
    ring = Keyring(f"sqlite:///{path}", keystore=KeyStore(tmp_path / "keys"))
    ring.create("v1")
    with sqlite3.connect(path) as conn:
        wrapped = conn.execute("SELECT wrapped FROM pactline_data_keys WHERE version_id = 'v1'").fetchone()[0]
    ring.destroy("v1", "test")
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("keyring.sqlite*"))
    assert wrapped not in on_disk  # secure_delete zeroed it; the WAL was folded in and truncated


def test_catalog_versions_files_and_states(db_url):
    catalog = Catalog(db_url)
    created = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    v = catalog.get_or_create(Catalog.new_record("agr", "staging", "staging", "ds", "agr/staging/ds/r1",
                                                 created_at=created))
    again = catalog.get_or_create(Catalog.new_record("agr", "staging", "staging", "ds", "agr/staging/ds/r1"))
    assert again.version_id == v.version_id and again.created == created  # one version per folder
    from pactline.store import FileRecord

    catalog.add_file(FileRecord(v.version_id, "agr/staging/ds/r1/a.parquet", "ab" * 32, 10, "parquet", None, 3))
    catalog.move_file("agr/staging/ds/r1/a.parquet", "agr/staging/ds/r1/b.parquet")
    assert [f.path for f in catalog.files(v.version_id)] == ["agr/staging/ds/r1/b.parquet"]
    assert catalog.file("agr/staging/ds/r1/b.parquet").rows == 3
    catalog.update(v.version_id, expect=["live"], state="purging", purge_clause="retention.staging_days")
    with pytest.raises(VersionStateError):
        catalog.update(v.version_id, expect=["live"], state="purging")
    with pytest.raises(VersionStateError):  # nothing is written into a version being purged
        catalog.get_or_create(Catalog.new_record("agr", "staging", "staging", "ds", "agr/staging/ds/r1"))
    catalog.update(v.version_id, state="purged")
    fresh = catalog.get_or_create(Catalog.new_record("agr", "staging", "staging", "ds", "agr/staging/ds/r1"))
    assert fresh.version_id != v.version_id  # a purged folder may be reused by a new version
    assert [x.version_id for x in catalog.versions("agr", states=["purged"])] == [v.version_id]


def test_vault_on_postgres_end_to_end(pg_url, tmp_path):
    vault = Vault.open(KeyStore(tmp_path / "keys"), keyring_url=pg_url, catalog_url=pg_url)
    root = DataRoot(str(tmp_path / "root"), vault=vault)
    v = vault.new_version(Catalog.new_record("agr", "shared", "sandbox", "out", "agr/shared/out/v1"))
    root.write_table("agr/shared/out/v1/data.parquet", people(), version=v)
    assert root.read_table("agr/shared/out/v1/data.parquet").num_rows == 50
    vault.keyring.destroy(v.version_id, "retention.sandbox_days")
    with pytest.raises(KeyShreddedError):
        root.read_table("agr/shared/out/v1/data.parquet")


# -- the pipeline writes nothing personal in clear ----------------------------------------------------


def test_pipeline_leaves_only_manifests_in_clear(workspace, tmp_path):
    from pactline.agreement import load_agreement
    from pactline.pipeline.context import RunContext
    from pactline.pipeline.ingest import ingest
    from pactline.pipeline.map_schema import map_schema
    from pactline.pipeline.protect import protect
    from pactline.pipeline.publish import publish
    from pactline.pipeline.scan_pii import scan_pii

    ctx = RunContext(loaded=load_agreement(workspace / "agreements" / "fraud.yaml"), run_id="manual__1",
                     as_of=dt.date(2027, 1, 1), root=DataRoot(str(tmp_path / "root")),
                     keystore=KeyStore(tmp_path / "keys"), recorder=lambda e, p: None)
    ing = ingest(ctx, "orders")
    mapped = map_schema(ctx, "orders", ing["landing"])
    scan = scan_pii(ctx, "orders", mapped["staging"], on_undeclared_pii="redact")
    prot = protect(ctx, "orders", mapped["staging"], scan["overrides"])
    rel = publish(ctx, "orders-release", {"ingest": ing, "map_schema": mapped, "scan_pii": scan, "protect": prot},
                  prot["staging"])
    raw_source = (workspace / "data" / "fraud" / "orders.csv").read_text()
    some_email = raw_source.splitlines()[1].split(",")[1].strip()
    files = [p for p in Path(ctx.root.root).rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"source.csv", "mapped.parquet", "protected.parquet", "pii_scan.json",
                                       "data.parquet", "manifest.json"}
    for p in files:
        data = p.read_bytes()
        if p.name == "manifest.json":
            assert some_email.encode() not in data
            continue
        assert data.startswith(MAGIC) or data[-4:] == b"PARE", f"{p} is not encrypted"
        assert some_email.encode() not in data
    versions = ctx.vault.catalog.versions("fraud-detection")
    assert {(v.area, v.zone) for v in versions} == {("landing", "landing"), ("staging", "staging"),
                                                    ("reports", "staging"), ("shared", "sandbox")}
    assert all(v.state == "live" for v in versions)
    assert ctx.root.read_json(scan["report"])["dataset"] == "orders"  # the steward still reads it
    manifest = ctx.root.read_json(rel["manifest"])
    assert manifest["version_id"] == ctx.root.file_record(rel["path"]).version_id
    # the same bytes again: the landing version is reused, no second copy, no orphan key
    again = ingest(ctx, "orders")
    assert again["reused"] and again["version_id"] == ing["version_id"]
    assert len(ctx.vault.catalog.versions("fraud-detection", states=["writing", "live"])) == 4


def test_any_fsspec_root_works_the_same(tmp_path):
    """An object-store-like root (fsspec memory://): same encryption, same reads, same shredding."""
    root = DataRoot(f"memory://pactline-{uuid.uuid4().hex[:8]}", vault=Vault.open())
    assert not root.is_local
    v = new_version(root)
    root.write_table("agr/staging/ds/run-1/people.parquet", people(), version=v)
    root.write_json("agr/staging/ds/run-1/report.json", {"email": SECRET_VALUE}, version=v)
    assert root.read_table("agr/staging/ds/run-1/people.parquet").equals(people())
    assert root.read_json("agr/staging/ds/run-1/report.json") == {"email": SECRET_VALUE}
    assert SECRET_VALUE.encode() not in root.read_raw("agr/staging/ds/run-1/report.json")
    root.move("agr/staging/ds/run-1/report.json", "agr/staging/ds/run-1/moved.json")
    assert root.file_record("agr/staging/ds/run-1/moved.json").encryption == "envelope"
    root.vault.keyring.destroy(v.version_id, "test")
    with pytest.raises(KeyShreddedError):
        root.read_json("agr/staging/ds/run-1/moved.json")
    root.delete("agr/staging/ds/run-1", recursive=True)
    assert not root.exists("agr/staging/ds/run-1")
