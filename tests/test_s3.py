"""The data root on an S3-compatible object store: moto's server on loopback, reached through s3fs.

The fraud agreement runs end to end through dag.test once on a local root and once on
s3://<bucket>/pactline (endpoint given by PACTLINE_DATA_ROOT_OPTIONS); both runs must release the
same rows with the same pseudonyms, and everything the s3 run wrote must be in the bucket,
encrypted, with manifests that name no local path.
"""

from __future__ import annotations

import json

import pytest

from pactline.agreement import load_agreement
from pactline.store import DataRoot
from tests.conftest import amend, raw_values, releases, run_dag

pytestmark = pytest.mark.slow
BUCKET = "pactline-test"
SECRET = "4ab8bdd5a1d39fec0ff907b5af7b32b8889bf1e8d122da3b6f26f75674c35ae9"  # the agreement's pseudonymisation key, the same for both runs


@pytest.fixture
def s3_endpoint(monkeypatch):
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    import s3fs

    s3fs.S3FileSystem(endpoint_url=endpoint, skip_instance_cache=True).mkdir(BUCKET)
    yield endpoint
    server.stop()


def _released(loaded, run):
    got = releases(loaded.id, run.run_id)
    return {out: (manifest, table.sort_by("transaction_id" if "transaction_id" in table.column_names else "order_id"))
            for out, (manifest, table) in got.items() if manifest["output"]["kind"] == "protected"}


def test_fraud_on_s3_equals_local(airflow_home, workspace, tmp_path, monkeypatch, s3_endpoint):
    path = workspace / "agreements" / "fraud.yaml"
    text = path.read_text()
    # the synthetic output trains a model for a minute; the data root is what this test is about
    text = text[:text.index("  - id: transactions-synthetic")] + text[text.index("  - id: orders-release"):]
    amend(path, text)
    loaded = load_agreement(path)
    monkeypatch.setenv("PACTLINE_SECRET_FRAUD_DETECTION__FRAUD_PSEUDONYM_KEY", SECRET)

    local_run = run_dag(path)
    assert str(local_run.state).endswith("success"), local_run.state
    local = _released(loaded, local_run)
    assert set(local) == {"transactions-release", "orders-release"}

    # a fresh home (catalog, keyring, ledger) and the data root in the bucket
    monkeypatch.setenv("PACTLINE_HOME", str(tmp_path / "s3-home"))
    monkeypatch.setenv("PACTLINE_DATA_ROOT", f"s3://{BUCKET}/pactline")
    monkeypatch.setenv("PACTLINE_DATA_ROOT_OPTIONS", json.dumps({"endpoint_url": s3_endpoint}))
    root = DataRoot()
    assert root.fs.protocol[0] in ("s3", "s3a") and not root.is_local
    s3_run = run_dag(path)
    assert str(s3_run.state).endswith("success"), s3_run.state
    remote = _released(loaded, s3_run)
    assert set(remote) == set(local)
    for out, (manifest, table) in remote.items():
        assert table.equals(local[out][1]), f"{out}: the s3 release differs from the local one"
        assert manifest["rows"] == local[out][0]["rows"]
        assert manifest["inputs"][0]["sha256"] == local[out][0]["inputs"][0]["sha256"]
        text = json.dumps(manifest)
        assert str(tmp_path) not in text and "/tmp" not in text and s3_endpoint not in text

    # everything is in the bucket: landing copies, staging, reports (Data Docs uploaded), releases
    import s3fs

    fs = s3fs.S3FileSystem(endpoint_url=s3_endpoint, skip_instance_cache=True)
    keys = fs.find(f"{BUCKET}/pactline/{loaded.id}")
    for area in ("landing", "staging", "reports", "shared"):
        assert any(f"/{loaded.id}/{area}/" in k for k in keys), f"nothing under {area}/ in the bucket"
    assert any(k.endswith("checks/summary.html") for k in keys)
    # released data is encrypted at rest in the bucket: no raw identifier in the stored bytes
    data = [k for k in keys if "/shared/transactions-release/" in k and k.endswith("data.parquet")]
    stored = fs.cat_file(data[0])
    assert stored[-4:] in (b"PAR1", b"PARE") and not any(v.encode() in stored for v in
                                              raw_values(workspace, loaded, "transactions"))
    assert not (tmp_path / "s3-home" / "data").exists()  # nothing fell back to a local root
