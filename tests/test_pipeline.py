"""The pipeline steps without Airflow: ingest, map_schema, protect, publish, and bad input at each."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pactline.agreement import load_agreement
from pactline.errors import DataError, PolicyViolation
from pactline.keys import KeyStore
from pactline.pipeline.context import RunContext
from pactline.pipeline.ingest import ingest
from pactline.pipeline.map_schema import map_schema
from pactline.pipeline.protect import protect
from pactline.pipeline.publish import publish
from pactline.store import DataRoot

KEK = "0d99c6e5f0f0609f4d6a1e5580f841b50ca2e4fc3473eca5ef24c155dd6b5bd7"  # random, as real keys must be


@pytest.fixture
def make_ctx(workspace, tmp_path):
    def make(name="fraud", as_of=dt.date(2027, 1, 1)):
        events = []
        ctx = RunContext(
            loaded=load_agreement(workspace / "agreements" / f"{name}.yaml"), run_id="manual__2027-01-01T00:00:00+00:00",
            as_of=as_of, root=DataRoot(str(tmp_path / "root")), keystore=KeyStore(tmp_path / "keys"),
            recorder=lambda event, payload: events.append((event, payload)),
        )
        ctx.events = events
        return ctx
    return make


def source(workspace, rel):
    return workspace / "data" / rel


def test_ingest_is_content_addressed_and_idempotent(make_ctx):
    ctx = make_ctx()
    first = ingest(ctx, "transactions")
    again = ingest(ctx, "transactions")
    assert first["sha256"] == again["sha256"] and again["reused"] and not first["reused"]
    assert first["landing"].endswith(f"{first['sha256']}/source.csv")
    assert ctx.root.exists(first["landing"].rsplit("/", 1)[0] + "/manifest.json")
    assert [e for e, _ in ctx.events] == ["agreement.loaded", "data.ingested"] * 2


def test_map_schema_renames_casts_and_drops_undeclared(make_ctx):
    ctx = make_ctx()
    mapped = map_schema(ctx, "transactions", ingest(ctx, "transactions")["landing"])
    table = ctx.root.read_table(mapped["staging"])
    # undeclared partner columns are recorded by count and position, never by name (a header is data too)
    assert mapped["undeclared_columns"] == {"count": 1, "positions": [11]}
    assert table.schema.field("age").type == pa.int64()  # "90.0" in the CSV is a whole number
    assert table.schema.field("booked_at").type == pa.timestamp("us")
    assert table.schema.field("is_fraud").type == pa.bool_()
    assert "KANAAL" not in table.column_names and mapped["rows"] == 300
    assert ("schema.mapped", mapped) in [(e, p) for e, p in ctx.events]


def test_postcodes_keep_leading_zeros(make_ctx, workspace):
    path = source(workspace, "fraud/orders.csv")
    path.write_text(path.read_text().replace("order_no,", "order_no,", 1))
    lines = path.read_text().splitlines()
    cells = lines[1].split(",")
    cells[4] = "0123 AB"
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    ctx = make_ctx()
    mapped = map_schema(ctx, "orders", ingest(ctx, "orders")["landing"])
    assert ctx.root.read_table(mapped["staging"])["ship_postcode"][0].as_py() == "0123 AB"


@pytest.mark.parametrize(("content", "expected"), [
    (b"", "is empty"),
    (b"TXN_ID;KLANT_EMAIL\n", "lacks declared column"),
    (b"\xff\xfe\x00garbage\n\x00\x01", "not UTF-8"),
])
def test_bad_csv_inputs(make_ctx, workspace, content, expected):
    source(workspace, "fraud/transactions.csv").write_bytes(content)
    ctx = make_ctx()
    with pytest.raises(DataError) as info:
        map_schema(ctx, "transactions", ingest(ctx, "transactions")["landing"])
    assert expected in str(info.value)


def test_ragged_row_names_the_problem(make_ctx, workspace):
    path = source(workspace, "fraud/transactions.csv")
    lines = path.read_text().splitlines()
    lines[5] = lines[5] + ";extra;cells"
    path.write_text("\n".join(lines) + "\n")
    ctx = make_ctx()
    with pytest.raises(DataError) as info:
        map_schema(ctx, "transactions", ingest(ctx, "transactions")["landing"])
    assert "transactions.csv" in str(info.value) and "columns" in str(info.value)


def test_wrong_type_names_column_and_row_without_leaking_personal_values(make_ctx, workspace):
    path = source(workspace, "fraud/transactions.csv")
    lines = path.read_text().splitlines()
    cells = lines[3].split(";")
    cells[7] = "forty-two"  # LEEFTIJD, a quasi-identifier
    cells[4] = "12,50 EUR"  # BEDRAG_EUR, non-personal
    lines[3] = ";".join(cells)
    path.write_text("\n".join(lines) + "\n")
    ctx = make_ctx()
    with pytest.raises(DataError) as info:
        map_schema(ctx, "transactions", ingest(ctx, "transactions")["landing"])
    msg = str(info.value)
    # every column of a partner file is partner data: the column and row are named, never the value
    assert "'amount_eur' is declared float but the value in row 3 is not a float" in msg
    assert "12,50" not in msg and "forty-two" not in msg


def test_corrupt_parquet(make_ctx, workspace):
    source(workspace, "readmission/claims.parquet").write_bytes(b"PAR1 this is not really parquet PAR1")
    ctx = make_ctx("readmission")
    with pytest.raises(DataError) as info:
        map_schema(ctx, "claims", ingest(ctx, "claims")["landing"])
    assert "cannot read as Parquet" in str(info.value)


def test_all_null_and_mixed_type_parquet_columns(make_ctx, workspace):
    path = source(workspace, "readmission/claims.parquet")
    t = pq.read_table(path)
    t = t.set_column(t.schema.get_field_index("PRIOR_ADMITS"), "PRIOR_ADMITS", pa.nulls(t.num_rows, pa.int64()))
    pq.write_table(t, path)
    ctx = make_ctx("readmission")
    mapped = map_schema(ctx, "claims", ingest(ctx, "claims")["landing"])
    assert ctx.root.read_table(mapped["staging"])["prior_admissions"].null_count == t.num_rows


def test_publish_refuses_after_expiry_and_writes_nothing(make_ctx):
    ctx = make_ctx(as_of=dt.date(2028, 6, 1))
    ing = ingest(ctx, "transactions")
    mapped = map_schema(ctx, "transactions", ing["landing"])
    prot = protect(ctx, "transactions", mapped["staging"])
    with pytest.raises(PolicyViolation) as info:
        publish(ctx, "transactions-release", {"ingest": ing, "map_schema": mapped, "protect": prot}, prot["staging"])
    assert info.value.clause == "metadata.expires"
    assert not ctx.root.exists("fraud-detection/shared")


def test_publish_writes_manifest_last_with_hashes(make_ctx):
    ctx = make_ctx()
    ing = ingest(ctx, "transactions")
    mapped = map_schema(ctx, "transactions", ing["landing"])
    prot = protect(ctx, "transactions", mapped["staging"])
    rel = publish(ctx, "transactions-release", {"ingest": ing, "map_schema": mapped, "protect": prot}, prot["staging"])
    manifest = ctx.root.read_json(rel["manifest"])
    assert manifest["files"][0]["sha256"] == rel["sha256"]
    import hashlib

    assert hashlib.sha256(ctx.root.read_bytes(rel["path"])).hexdigest() == rel["sha256"]
    assert manifest["agreement"]["fingerprint"] == ctx.loaded.fingerprint
    assert manifest["steps"]["protect"]["rows"] == 300


def test_pactline_read_decrypts_a_release_for_a_granted_principal(make_ctx, workspace, tmp_path, capsys, monkeypatch):
    from pactline.cli.main import main

    monkeypatch.setenv("PACTLINE_SECRET_PACTLINE_KEK", KEK)  # the KEK the pipeline and the reader share
    ctx = make_ctx()
    ing = ingest(ctx, "transactions")
    mapped = map_schema(ctx, "transactions", ing["landing"])
    prot = protect(ctx, "transactions", mapped["staging"])
    rel = publish(ctx, "transactions-release", {"ingest": ing, "map_schema": mapped, "protect": prot}, prot["staging"])
    assert b"customer_email" not in ctx.root.read_raw(rel["path"])  # encrypted at rest, footer included
    monkeypatch.setenv("PACTLINE_DATA_ROOT", ctx.root.url)
    monkeypatch.setenv("PACTLINE_AGREEMENTS", str(workspace / "agreements"))
    monkeypatch.setenv("PACTLINE_PRINCIPAL", "fraud-lab-analysts")  # access: read on sandbox, the release's zone
    monkeypatch.setattr("pactline.access.today", lambda: dt.date(2027, 1, 1))  # the reader's clock
    out = tmp_path / "release.csv"
    assert main(["read", rel["path"], "--out", str(out)]) == 0
    assert out.read_text().splitlines()[0].startswith('"transaction_id","customer_email"')
    assert len(out.read_text().splitlines()) == 301
    assert main(["read", rel["path"].rsplit("/", 1)[0], "--head", "2"]) == 0
    assert "cust_" in capsys.readouterr().out
    assert main(["read", "fraud-detection/shared/none"]) == 2
    assert main(["read", rel["path"], "--as", "nobody"]) == 1  # holds the KEK, has no grant: refused
