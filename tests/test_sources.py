"""The closed trust boundary for sources: an agreement names a file only inside its provider's source root.

Every attack found on the example deployment is a regression test here: the KEK file as a source, an
http source, absolute paths, '..' out of the root, symlinks out of it (file and partition folder), a
device, and an endless source under a small landing cap (nothing kept)."""

from __future__ import annotations

import datetime as dt
import http.server
import io
import os
import threading
from pathlib import Path

import pytest

from pactline.agreement import load_agreement
from pactline.cli.main import main
from pactline.errors import DataError, PolicyViolation
from pactline.keys import KeyStore
from pactline.pipeline.context import RunContext
from pactline.pipeline.ingest import SourceTooLarge, ingest, land
from pactline.sources import SourceRefused, SourceRoot, locate_source, source_problems
from pactline.store import DataRoot
from tests.conftest import amend

SOURCE = 'source: {uri: ../data/fraud/orders.csv, format: csv}'


def with_source(workspace: Path, uri: str) -> Path:
    path = workspace / "agreements" / "fraud.yaml"
    text = path.read_text()
    assert SOURCE in text
    amend(path, text.replace(SOURCE, f'source: {{uri: "{uri}", format: csv}}'))
    return path


def context(path: Path, tmp_path: Path, events: list) -> RunContext:
    return RunContext(loaded=load_agreement(path), run_id="manual__2027-01-01T00:00:00+00:00",
                      as_of=dt.date(2027, 1, 1), root=DataRoot(str(tmp_path / "root")), keystore=KeyStore(),
                      recorder=lambda event, payload: events.append((event, payload)))


def everything_recorded(events: list) -> str:
    return "\n".join(f"{e} {p}" for e, p in events)


# -- the root and what it refuses ------------------------------------------------------------------


@pytest.mark.parametrize(("uri", "why"), [
    ("/etc/passwd", "absolute paths are not allowed"),
    ("../../outside.csv", "leaves the source root"),
    ("../data/../../outside.csv", "leaves the source root"),
    ("http://127.0.0.1:9/x.csv", "scheme http:// is not a configured source root"),
    ("s3://bucket/x.csv", "scheme s3:// is not a configured source root"),
    ("file:///etc/passwd", "scheme file:// is not a configured source root"),
    ("~/x.csv", "absolute paths are not allowed"),
])
def test_local_root_refuses_what_leaves_it(tmp_path, uri, why):
    root = SourceRoot("shopco", str(tmp_path / "data"), "test")
    with pytest.raises(SourceRefused, match=why) as err:
        root.locate(uri, tmp_path / "agreements", "datasets[orders].source.uri")
    assert err.value.clause == "datasets[orders].source.uri" and "shopco" in str(err.value)


def test_local_root_accepts_relative_paths_inside_it(tmp_path):
    root = SourceRoot("shopco", str(tmp_path / "data"), "test")
    here = tmp_path / "agreements"
    assert root.locate("../data/fraud/orders.csv", here, "c") == str(tmp_path / "data/fraud/orders.csv")
    assert root.locate("../data/fraud/parts/", here, "c") == str(tmp_path / "data/fraud/parts") + "/"
    assert root.locate("../data/fraud/*.csv", here, "c") == str(tmp_path / "data/fraud/*.csv")


def test_remote_root_confines_urls(tmp_path):
    root = SourceRoot("shopco", "s3://partner-bucket/shopco", "test")
    assert root.locate("s3://partner-bucket/shopco/orders.csv", tmp_path, "c") == "s3://partner-bucket/shopco/orders.csv"
    assert root.locate("2026/orders.csv", tmp_path, "c") == "s3://partner-bucket/shopco/2026/orders.csv"
    for uri in ("s3://partner-bucket/shopcox/orders.csv", "s3://partner-bucket/other/x.csv",
                "s3://partner-bucket/shopco/../nordbank/x.csv", "gs://partner-bucket/shopco/x.csv", "../x.csv"):
        with pytest.raises(SourceRefused):
            root.locate(uri, tmp_path, "c")
    with pytest.raises(SourceRefused):
        root.check_file("s3://partner-bucket/nordbank/x.csv", "c")


def test_roots_per_party_from_the_environment(workspace, monkeypatch, tmp_path):
    loaded = load_agreement(workspace / "agreements" / "fraud.yaml")
    root, uri = locate_source(loaded, "orders")  # embedded default: 'data' beside the agreements folder
    assert root.url == str(workspace / "data") and uri == str(workspace / "data/fraud/orders.csv")
    monkeypatch.setenv("PACTLINE_SOURCE_ROOT_SHOPCO", str(tmp_path / "elsewhere"))
    assert source_problems(loaded) == [(
        "datasets[orders].source.uri", f"source '../data/fraud/orders.csv' is refused: it leaves the source root. "
        f"Sources of shopco are read only inside its source root {tmp_path / 'elsewhere'} "
        f"(PACTLINE_SOURCE_ROOT_SHOPCO) (clause: datasets[orders].source.uri)")]
    monkeypatch.setenv("PACTLINE_SOURCE_ROOT_SHOPCO", "relative/folder")
    with pytest.raises(Exception, match="must be an absolute folder or a URL"):
        locate_source(loaded, "orders")


# -- the attacks, end to end through the core steps and the CLI ------------------------------------------


def test_the_kek_as_a_source_is_refused_and_never_read(workspace, tmp_path, capsys, caplog, pactline_home):
    kek = KeyStore().secret("pactline_kek")  # the deployment's key-encryption key exists
    kek_text = (pactline_home / "keys" / "pactline_kek.key").read_text().strip()
    assert kek_text and bytes.fromhex(kek_text) == kek
    rel = os.path.relpath(pactline_home / "keys" / "pactline_kek.key", workspace / "agreements")
    path = with_source(workspace, rel)

    assert main(["validate", str(path)]) == 2  # refused before anything runs
    err = capsys.readouterr().err
    assert "datasets[orders].source.uri" in err and "leaves the source root" in err
    events: list = []
    with pytest.raises(SourceRefused):
        ingest(context(path, tmp_path, events), "orders")
    out = capsys.readouterr()
    for where in (everything_recorded(events), out.out, out.err, caplog.text):
        assert kek_text not in where and kek_text[:16] not in where
    assert not (tmp_path / "root").exists() or not list((tmp_path / "root").rglob("source.csv"))


def test_an_http_source_is_never_fetched(workspace, tmp_path, capsys):
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = b"SECRET-RESPONSE-BODY\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        path = with_source(workspace, f"http://127.0.0.1:{server.server_port}/orders.csv")
        assert main(["validate", str(path)]) == 2
        events: list = []
        with pytest.raises(SourceRefused, match="scheme http://"):
            ingest(context(path, tmp_path, events), "orders")
    finally:
        server.shutdown()
    assert hits == []
    assert "SECRET-RESPONSE-BODY" not in everything_recorded(events) + capsys.readouterr().err


def test_a_symlink_out_of_the_root_is_refused(workspace, tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_text("order_no\nSECRET-OUTSIDE\n")
    (workspace / "data" / "fraud" / "link.csv").symlink_to(outside)
    path = with_source(workspace, "../data/fraud/link.csv")
    with pytest.raises(SourceRefused, match="symlink out of the source root"):
        ingest(context(path, tmp_path, []), "orders")


def test_a_symlink_inside_a_partition_folder_is_refused(workspace, tmp_path):
    from pactline.pipeline.list_partitions import list_partitions

    parts = workspace / "data" / "fraud" / "order_parts"
    parts.mkdir()
    (parts / "a.csv").write_text((workspace / "data" / "fraud" / "orders.csv").read_text())
    (tmp_path / "b.csv").write_text("order_no\nSECRET-OUTSIDE\n")
    (parts / "b.csv").symlink_to(tmp_path / "b.csv")
    path = with_source(workspace, "../data/fraud/order_parts/")
    with pytest.raises(SourceRefused, match="symlink out of the source root"):
        list_partitions(context(path, tmp_path, []), "orders")


def test_a_device_is_refused(workspace, tmp_path):
    (workspace / "data" / "fraud" / "zero.csv").symlink_to("/dev/zero")
    path = with_source(workspace, "../data/fraud/zero.csv")
    with pytest.raises(SourceRefused):
        ingest(context(path, tmp_path, []), "orders")


class Endless(io.RawIOBase):
    """A source that never ends (what /dev/zero or a hostile object store would serve)."""

    def readable(self):
        return True

    def readinto(self, buffer):
        buffer[:] = b"x" * len(buffer)
        return len(buffer)


def test_an_endless_source_stops_at_the_cap_and_nothing_is_kept(workspace, tmp_path, monkeypatch):
    monkeypatch.setenv("PACTLINE_MAX_SOURCE_BYTES", str(1 << 20))
    events: list = []
    ctx = context(workspace / "agreements" / "fraud.yaml", tmp_path, events)
    with pytest.raises(SourceTooLarge, match="larger than the landing cap of 1,048,576 bytes"):
        land(ctx, "orders", io.BufferedReader(Endless()), source_uri="../data/fraud/orders.csv", ext="csv")
    landing = tmp_path / "root" / "fraud-detection" / "landing"
    assert not landing.exists() or not [p for p in landing.rglob("*") if p.is_file()]
    assert not [v for v in ctx.vault.catalog.versions("fraud-detection") if v.state in ("writing", "live")]


def test_a_file_over_the_cap_is_refused_by_ingest(workspace, tmp_path, monkeypatch):
    monkeypatch.setenv("PACTLINE_MAX_SOURCE_BYTES", "1000")
    with pytest.raises(DataError, match="PACTLINE_MAX_SOURCE_BYTES"):
        ingest(context(workspace / "agreements" / "fraud.yaml", tmp_path, []), "orders")
    monkeypatch.setenv("PACTLINE_MAX_SOURCE_BYTES", "lots")
    with pytest.raises(Exception, match="positive number of bytes"):
        ingest(context(workspace / "agreements" / "fraud.yaml", tmp_path, []), "orders")


def test_source_refusal_is_a_policy_violation(workspace, tmp_path):
    path = with_source(workspace, "/etc/passwd")
    with pytest.raises(PolicyViolation):
        ingest(context(path, tmp_path, []), "orders")
