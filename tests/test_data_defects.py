"""Bad partner data: every defect found surfaces as a DataError naming the file, column, row or limit, never a
value, and nothing half-written; or, where the file is fine but unusual (CR line endings, an Excel BOM, a very
long cell), it is read correctly."""

from __future__ import annotations

import codecs
import datetime as dt
import io
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import pactline.store.source as source_module
from pactline.agreement import load_agreement
from pactline.agreement.model import Source
from pactline.errors import DataError
from pactline.keys import KeyStore
from pactline.partition import list_partitions, open_partition
from pactline.pipeline.context import RunContext
from pactline.pipeline.ingest import ingest
from pactline.pipeline.map_schema import map_schema
from pactline.sources import SourceRoot
from pactline.store import DataRoot
from pactline.store.source import iter_batches, nested_columns

SECRET = "Zz-SECRET-Zz"  # planted in partner data: it must appear in no message


@pytest.fixture
def make_ctx(workspace, tmp_path):
    made = iter(range(1000))

    def make(name="fraud"):
        events: list = []
        ctx = RunContext(
            loaded=load_agreement(workspace / "agreements" / f"{name}.yaml"),
            run_id="manual__2027-01-01T00:00:00+00:00", as_of=dt.date(2027, 1, 1),
            root=DataRoot(str(tmp_path / f"root-{next(made)}")), keystore=KeyStore(tmp_path / "keys"),
            recorder=lambda event, payload: events.append((event, payload)),
        )
        ctx.events = events
        return ctx
    return make


def mapped_table(ctx, dataset):
    mapped = map_schema(ctx, dataset, ingest(ctx, dataset)["landing"])
    return ctx.root.read_table(mapped["staging"])


def refused(ctx, dataset) -> str:
    """map_schema's DataError message; nothing of the dataset was staged or recorded as mapped."""
    with pytest.raises(DataError) as info:
        map_schema(ctx, dataset, ingest(ctx, dataset)["landing"])
    assert not ctx.root.exists(ctx.staging(dataset, "mapped.parquet"))
    assert "schema.mapped" not in [e for e, _ in ctx.events]
    return str(info.value)


def claims_path(workspace):
    return workspace / "data" / "readmission" / "claims.parquet"


# -- 1. nested Parquet columns ---------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "values"), [
    ("struct", lambda n: pa.array([{SECRET: "x"}] * n)),
    ("list", lambda n: pa.array([[SECRET]] * n)),
    ("map", lambda n: pa.array([[(SECRET, 1)]] * n, pa.map_(pa.string(), pa.int64()))),
])
def test_a_declared_nested_parquet_column_is_refused_by_kind(make_ctx, workspace, kind, values):
    path = claims_path(workspace)
    t = pq.read_table(path)
    pq.write_table(t.set_column(t.schema.get_field_index("ZIP"), "ZIP", values(t.num_rows)), path)
    msg = refused(make_ctx("readmission"), "claims")
    assert f"column 'zip' (declared string) holds nested values ({kind})" in msg
    assert "not supported: flatten it into plain columns" in msg
    # the type's text is not quoted: it spells out the partner's field and column names
    assert SECRET not in msg and "ZIP" not in msg and "<" not in msg


def test_an_undeclared_nested_parquet_column_is_dropped(make_ctx, workspace):
    path = claims_path(workspace)
    t = pq.read_table(path)
    pq.write_table(t.append_column("EXTRA", pa.array([{"a": 1}] * t.num_rows)), path)
    ctx = make_ctx("readmission")
    mapped = map_schema(ctx, "claims", ingest(ctx, "claims")["landing"])
    assert mapped["rows"] == t.num_rows
    assert mapped["undeclared_columns"]["positions"][-1] == t.num_columns + 1  # left out, not refused


def test_nested_columns_of_a_file_are_named_by_position_and_kind():
    schema = pa.schema([("a", pa.int64()), (SECRET, pa.struct([(SECRET, pa.string())])),
                        ("m", pa.map_(pa.string(), pa.int64())), ("l", pa.large_list(pa.int64())),
                        ("d", pa.dictionary(pa.int32(), pa.string()))])
    msg = nested_columns(schema)
    assert msg.startswith("column 2 (struct), column 3 (map), column 4 (list) of the file hold nested values")
    assert SECRET not in msg and nested_columns(pa.schema([("a", pa.int64())])) == ""


# -- 2. duplicate Parquet column names -------------------------------------------------------------


def test_duplicate_parquet_column_names_are_named_by_position(make_ctx, workspace, tmp_path):
    path = claims_path(workspace)
    t = pq.read_table(path)
    names = t.column_names
    pq.write_table(pa.Table.from_arrays([*t.columns, t.column(2)], names=[*names, names[2]]), path)
    msg = refused(make_ctx("readmission"), "claims")
    assert f"columns 3 and {len(names) + 1} have the same name; every column needs its own name" in msg
    assert names[2] not in msg

    # a row-group slice of such a file, as a partitioned run lands it, is refused the same way
    pq.write_table(pa.Table.from_arrays([pa.array(range(40))] * 2, names=["a", "a"]), tmp_path / "d.parquet",
                   row_group_size=10)
    root = SourceRoot("p", str(tmp_path), "test")
    part = list_partitions(Source(uri="d.parquet", format="parquet", partition_rows=20), tmp_path, root)[1]
    with open_partition(part, root) as fh, pytest.raises(DataError, match="columns 1 and 2 have the same name"):
        iter_batches(fh, part.name, "parquet")


# -- 3. and 5. line endings and the byte order mark --------------------------------------------------


def test_cr_only_line_endings_read_like_lf(make_ctx, workspace):
    path = workspace / "data" / "fraud" / "orders.csv"
    lf = path.read_bytes()
    assert b"\r" not in lf
    expected = mapped_table(make_ctx(), "orders")
    path.write_bytes(lf.replace(b"\n", b"\r"))  # an old Mac export
    assert mapped_table(make_ctx(), "orders").equals(expected)


def test_excel_csv_with_a_utf8_bom_reads_its_first_column(make_ctx, workspace):
    path = workspace / "data" / "fraud" / "orders.csv"
    lf = path.read_bytes()
    lines = lf.split(b"\n")
    cells = lines[1].split(b",")
    cells[0] = b"0042"  # the first column stays text: a leading zero survives
    lines[1] = b",".join(cells)
    path.write_bytes(b"\n".join(lines))
    expected = mapped_table(make_ctx(), "orders")
    path.write_bytes(codecs.BOM_UTF8 + b"\r\n".join(lines))  # what Excel's "CSV UTF-8" writes
    got = mapped_table(make_ctx(), "orders")
    assert got.equals(expected) and got["order_id"][0].as_py() == "0042"


def test_a_utf16_csv_is_refused_at_its_header(make_ctx, workspace):
    path = workspace / "data" / "fraud" / "orders.csv"
    path.write_bytes(path.read_text().encode("utf-16-le"))  # no byte order mark: decodes as UTF-8 with NULs
    msg = refused(make_ctx(), "orders")
    assert "the header row holds NUL bytes (a UTF-16 or binary file?); save the file as UTF-8 text" in msg


# -- 4. cells longer than Arrow's block ------------------------------------------------------------


def csv_with_a_long_cell(cell: bytes, before: int = 5000, after: int = 1000) -> bytes:
    rows = b"".join(b"%d,short\n" % i for i in range(before))
    rest = b"".join(b"%d,short\n" % i for i in range(before + 1, before + 1 + after))
    return b"rid,note\n" + rows + b'%d,"' % before + cell + b'"\n' + rest


def read_all(data: bytes) -> pa.Table:
    _, batches = iter_batches(io.BytesIO(data), "notes.csv", "csv")
    return pa.Table.from_batches(list(batches))


def test_a_cell_over_8_mib_is_read():
    table = read_all(csv_with_a_long_cell(b"y" * (20 << 20), before=10, after=10))
    assert table.num_rows == 21 and len(table["note"][10].as_py()) == 20 << 20
    assert table["rid"].to_pylist() == [str(i) for i in range(21)]


def test_rows_before_a_long_cell_are_given_once(monkeypatch):
    monkeypatch.setattr(source_module, "BATCH_BYTES", 64 << 10)  # the retry and skip logic on small blocks
    table = read_all(csv_with_a_long_cell(b"y" * (1 << 20)))
    assert table["rid"].to_pylist() == [str(i) for i in range(6001)]
    assert len(table["note"][5000].as_py()) == 1 << 20


def test_a_row_beyond_the_limit_is_a_data_error_naming_row_and_limit(monkeypatch):
    monkeypatch.setattr(source_module, "BATCH_BYTES", 64 << 10)
    monkeypatch.setattr(source_module, "MAX_BLOCK_BYTES", 256 << 10)
    unclosed = csv_with_a_long_cell(SECRET.encode() * 100_000).replace(b'"\n', b"\n", 1)  # a quote left open
    with pytest.raises(DataError) as info:
        read_all(unclosed)
    msg = str(info.value)
    assert msg.startswith("notes.csv: a row at or after data row 5001 is longer than 262,144 bytes")
    assert "quote left open" in msg and SECRET not in msg and "straddl" not in msg


# -- 6. NUL bytes -----------------------------------------------------------------------------------


def test_nul_bytes_in_csv_text_are_refused_with_column_and_row(make_ctx, workspace):
    path = workspace / "data" / "fraud" / "orders.csv"
    lines = path.read_bytes().split(b"\n")
    cells = lines[4].split(b",")
    cells[2] = SECRET.encode() + b"\x00" + b"tail"  # customer_name, row 4
    lines[4] = b",".join(cells)
    path.write_bytes(b"\n".join(lines))
    msg = refused(make_ctx(), "orders")
    assert ("column 'customer_name': the value in row 4 holds a NUL byte (\\0); NUL bytes are not allowed in "
            "text") in msg
    assert SECRET not in msg


def test_nul_bytes_in_parquet_text_are_refused(make_ctx, workspace):
    path = claims_path(workspace)
    t = pq.read_table(path)
    i = t.schema.get_field_index("MEMBER_EMAIL")
    emails = t.column(i).to_pylist()
    emails[6] = f"{SECRET}\x00@example.org"
    pq.write_table(t.set_column(i, "MEMBER_EMAIL", pa.array(emails)), path)
    msg = refused(make_ctx("readmission"), "claims")
    assert "column 'email': the value in row 7 holds a NUL byte" in msg and SECRET not in msg


# -- 7. a partition that changed after it was listed -----------------------------------------------


def root_at(folder) -> SourceRoot:
    return SourceRoot("provider", str(folder), "test")


def test_a_parquet_slice_rewritten_after_listing_is_refused(tmp_path):
    pq.write_table(pa.table({"x": list(range(1000))}), tmp_path / "big.parquet", row_group_size=100)
    parts = list_partitions(Source(uri="big.parquet", format="parquet", partition_rows=250), tmp_path,
                            root_at(tmp_path))
    pq.write_table(pa.table({"x": list(range(1500))}), tmp_path / "big.parquet", row_group_size=100)
    with pytest.raises(DataError) as info, open_partition(parts[0], root_at(tmp_path)):
        pass
    assert str(info.value).startswith("partition big.parquet#rg=0-2 changed after it was listed (")
    assert str(info.value).endswith("run again, so that the partitions are listed afresh")


def test_a_slice_is_checked_against_the_rows_listed(tmp_path):
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"x": list(range(1000))}), path, row_group_size=100)
    parts = list_partitions(Source(uri="big.parquet", format="parquet", partition_rows=250), tmp_path,
                            root_at(tmp_path))
    # the file as listed, but a listing that claims other rows than its row groups hold
    stale = parts[0].from_dict({**parts[0].to_dict(), "rows": 250})
    with pytest.raises(DataError, match="250 rows listed, 300 in those row groups now"), \
            open_partition(stale, root_at(tmp_path)):
        pass


def test_a_csv_partition_appended_to_after_listing_is_refused(tmp_path):
    (tmp_path / "in").mkdir()
    for i in range(2):
        (tmp_path / "in" / f"p{i}.csv").write_text("a,b\n1,2\n")
    parts = list_partitions(Source(uri="in/"), tmp_path, root_at(tmp_path))
    assert parts[0].size == len("a,b\n1,2\n") and parts[0].stamp
    with (tmp_path / "in" / "p1.csv").open("a") as fh:
        fh.write("3,4\n")
    with open_partition(parts[0], root_at(tmp_path)) as fh:  # the other one is unchanged
        assert fh.read() == b"a,b\n1,2\n"
    with pytest.raises(DataError) as info, open_partition(parts[1], root_at(tmp_path)):
        pass
    assert "partition p1.csv changed after it was listed (8 bytes when listed, 12 now)" in str(info.value)


def test_a_rewrite_to_the_same_size_is_refused_by_its_stamp(tmp_path):
    (tmp_path / "in").mkdir()
    path = tmp_path / "in" / "p0.csv"
    path.write_text("a,b\n1,2\n")
    part = list_partitions(Source(uri="in/"), tmp_path, root_at(tmp_path))[0]
    path.write_text("a,b\n7,8\n")
    later = path.stat().st_mtime + 5
    os.utime(path, (later, later))
    with pytest.raises(DataError, match="the store reports a newer version of the file"), \
            open_partition(part, root_at(tmp_path)):
        pass


def test_a_file_growing_while_it_is_read_is_refused(tmp_path):
    (tmp_path / "in").mkdir()
    path = tmp_path / "in" / "p0.csv"
    path.write_text("a,b\n" + "1,2\n" * 1000)
    part = list_partitions(Source(uri="in/"), tmp_path, root_at(tmp_path))[0]
    with open_partition(part, root_at(tmp_path)) as fh:
        with path.open("a") as out:
            out.write("3,4\n")
        with pytest.raises(DataError) as info:
            while fh.read(1000):
                pass
    assert "partition p0.csv changed after it was listed (4,004 bytes when listed, more now)" in str(info.value)


def test_a_copy_that_fails_midway_leaves_no_pending_version(make_ctx):
    """A source that changes (or breaks) while it is copied leaves no half-written landing version behind."""
    from pactline.pipeline.ingest import land

    class Breaks(io.RawIOBase):
        def __init__(self):
            self.sent = 0

        def readable(self):
            return True

        def read(self, n=-1):
            if self.sent >= 3:
                raise DataError("partition p0.csv changed after it was listed")
            self.sent += 1
            return b"a,b\n1,2\n"

    ctx = make_ctx()
    with pytest.raises(DataError, match="changed after it was listed"):
        land(ctx, "orders", Breaks(), source_uri="orders.csv", ext="csv")
    assert ctx.vault.catalog.versions(ctx.loaded.id) == []
    assert ctx.root.fs.find(ctx.root.path(f"{ctx.loaded.id}/landing")) == []  # no file of it left


# -- 8. `pactline run` on bad data ---------------------------------------------------------------------


def test_cli_run_on_bad_data_exits_2_with_the_message(airflow_home, workspace, capsys):
    from pactline.cli.main import main

    for rel, sep in (("fraud/transactions.csv", b";"), ("fraud/orders.csv", b",")):
        path = workspace / "data" / rel
        lines = path.read_bytes().split(b"\n")
        lines[3] = lines[3].replace(sep, b"\x00" + sep, 1)  # the first column of row 3
        path.write_bytes(b"\n".join(lines))
    code = main(["run", str(workspace / "agreements" / "fraud.yaml"), "--as-of", "2027-01-01",
                 "--approved-by", "dora"])
    err = capsys.readouterr().err
    assert code == 2
    assert ("error: orders.map_schema: column 'order_id': the value in row 3 holds a NUL byte (\\0); NUL bytes "
            "are not allowed in text") in err
    assert "error: transactions.map_schema: column 'transaction_id': the value in row 3 holds a NUL byte" in err
    assert "Traceback" not in err
    assert not DataRoot().exists("fraud-detection/shared")  # nothing released


# -- a failed gate keeps its reports -----------------------------------------------------------------


def test_a_failed_quality_gate_keeps_its_reports(make_ctx, workspace):
    from pactline.checks import CheckFailed
    from pactline.pipeline.check_quality import check_quality

    path = workspace / "data" / "fraud" / "orders.csv"
    lines = path.read_text().split("\n")
    cells = lines[2].split(",")
    cells[6] = "barter"  # pay_method outside the allowed values
    lines[2] = ",".join(cells)
    path.write_text("\n".join(lines))
    ctx = make_ctx()
    mapped = map_schema(ctx, "orders", ingest(ctx, "orders")["landing"])
    with pytest.raises(CheckFailed):
        check_quality(ctx, "orders", mapped["staging"])
    checks = ctx.reports("orders", "checks")
    assert ctx.root.exists(f"{checks}/result_quality.json") and ctx.root.exists(f"{checks}/summary.html")
    assert not ctx.root.read_json(f"{checks}/result_quality.json")["passed"]
    incidents = [p for e, p in ctx.events if e == "incident.opened"]
    assert len(incidents) == 1 and incidents[0]["kind"] == "gate.quality"
    assert incidents[0]["report"] == f"{checks}/summary.html" and ctx.root.exists(incidents[0]["report"])
