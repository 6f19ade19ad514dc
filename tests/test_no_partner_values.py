"""No value read from partner data in any error, ledger entry, log line or steward page.

Each test feeds realistic personal data through the real steps (the real ledger under the per-test
PACTLINE_HOME, a DataRoot on tmp_path) and looks for every cell of the file everywhere a person
other than the data's owner could read: the error text, every ledger entry read back from the
ledger, captured logs and output, and the pages. Columns, rows, counts and positions are named;
values never are (a header cell included: in a file without a header row it is row 1 of the data).
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import logging
import random

import pyarrow as pa
import pytest
from faker import Faker

from pactline.agreement import load_agreement
from pactline.errors import DataError, PactlineError
from pactline.keys import KeyStore
from pactline.pipeline.context import RunContext
from pactline.pipeline.ingest import ingest
from pactline.pipeline.map_schema import map_schema
from pactline.recording import ledger_recorder, open_ledger
from pactline.store import DataRoot

RUN_ID = "manual__2027-01-01T00:00:00+00:00"
# the partner's header of the fraud agreement's `orders` dataset, in file order
ORDERS_HEADER = ["order_no", "customer_mail", "customer_name", "tel", "ship_zip", "total", "pay_method", "ip",
                 "remarks", "chargeback"]


# what customer-service remarks say about people in ordinary (lower-case) words: special-category data
CONDITIONS = ["chemotherapie", "zwangerschapsverlof", "schuldsanering", "insulinepomp", "rolstoelvervoer"]


def people(n: int = 20, seed: int = 7) -> list[list[str]]:
    """`n` orders of made-up but realistic people: ids, emails, names, phones, postcodes, a remark about them."""
    fake = Faker("nl_NL")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        name = fake.name()
        rows.append([f"R{i:05d}", fake.email(), name, fake.phone_number(), fake.postcode(),
                     f"{rng.uniform(5, 900):.2f}", rng.choice(["card", "paypal", "ideal", "invoice"]), fake.ipv4(),
                     f"Klant {name} belde over levering tijdens {CONDITIONS[i % len(CONDITIONS)]}",
                     rng.choice(["true", "false"])])
    return rows


def write_csv(path, rows: list[list[str]], header: list[str] | None = None) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def values_of(rows: list[list[str]], agreement_text: str) -> set[str]:
    """Every cell worth looking for: not a boolean (true/false are in every JSON payload) and not a word
    of the agreement itself (its own text is safe to quote, e.g. the payment method 'card')."""
    return {c for row in rows for c in row if c not in ("true", "false") and c not in agreement_text}


def assert_absent(text: str, values: set[str], where: str) -> None:
    leaked = sorted(v for v in values if v in text or html.escape(v, quote=True) in text)
    assert not leaked, f"partner values in {where}: {leaked[:5]}"


def ledger_text() -> str:
    return json.dumps([e.to_dict() for e in open_ledger().entries()], ensure_ascii=False)


@pytest.fixture
def make_ctx(workspace, tmp_path):
    """A run of the fraud agreement that writes to the real ledger (under the per-test PACTLINE_HOME)."""
    def make(name: str = "fraud") -> RunContext:
        loaded = load_agreement(workspace / "agreements" / f"{name}.yaml")
        return RunContext(loaded=loaded, run_id=RUN_ID, as_of=dt.date(2027, 1, 1),
                          root=DataRoot(str(tmp_path / "root")), keystore=KeyStore(tmp_path / "keys"),
                          recorder=ledger_recorder(loaded, actor="test", run_id=RUN_ID))
    return make


def fail_step(ctx: RunContext, dataset: str, step: str, error: PactlineError) -> str:
    """What operators/base.py records when a step raises: the error's text goes to the ledger."""
    ctx.record("step.failed", dataset=dataset, step=step, error=str(error), error_type=type(error).__name__)
    return str(error)


def orders_csv(workspace):
    return workspace / "data" / "fraud" / "orders.csv"


def agreement_text(workspace) -> str:
    return (workspace / "agreements" / "fraud.yaml").read_text()


def test_headerless_file_of_personal_data_leaks_nowhere(make_ctx, workspace, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    rows = people()
    write_csv(orders_csv(workspace), rows)  # no header row: row 1 becomes the "header"
    ctx = make_ctx()
    with pytest.raises(DataError) as info:
        map_schema(ctx, "orders", ingest(ctx, "orders")["landing"])
    message = fail_step(ctx, "orders", "map_schema", info.value)
    # the message names the agreement's own columns and counts what it found
    assert "lacks declared column(s) order_id (expected partner column 'order_no')" in message
    assert "its header has 10 column(s), none of them declared: is the header row missing" in message

    values = values_of(rows, agreement_text(workspace))
    first_row = ",".join(rows[0])
    out = capsys.readouterr()
    for where, text in (("the error", message), ("the ledger", ledger_text()), ("the logs", caplog.text),
                        ("stdout", out.out), ("stderr", out.err)):
        assert_absent(text, values, where)
        assert first_row not in text and rows[0][1] not in text  # row 1, and its email, by name
    assert [e.event for e in open_ledger().entries()][-1] == "step.failed"


def test_repeated_header_name_is_given_by_position(make_ctx, workspace):
    rows = people(5)
    header = [*ORDERS_HEADER[:-1], rows[0][1]]  # a partner header whose 2nd and 10th column are one email
    header[1] = rows[0][1]
    write_csv(orders_csv(workspace), rows, header)
    ctx = make_ctx()
    with pytest.raises(DataError) as info:
        map_schema(ctx, "orders", ingest(ctx, "orders")["landing"])
    message = fail_step(ctx, "orders", "map_schema", info.value)
    assert "columns 2 and 10 of the header have the same name" in message
    assert rows[0][1] not in message and rows[0][1] not in ledger_text()


def test_value_in_a_non_personal_column_is_not_quoted(make_ctx, workspace):
    rows = people()
    rows[6][5] = "alice@example.org"  # order_total_eur (non_personal, float) in data row 7
    write_csv(orders_csv(workspace), rows, ORDERS_HEADER)
    ctx = make_ctx()
    with pytest.raises(DataError) as info:
        map_schema(ctx, "orders", ingest(ctx, "orders")["landing"])
    message = fail_step(ctx, "orders", "map_schema", info.value)
    assert "column 'order_total_eur' is declared float but the value in row 7 is not a float" in message
    assert "alice" not in message and "alice" not in ledger_text()


def test_ragged_row_of_personal_data_is_not_quoted(make_ctx, workspace):
    rows = people()
    rows[4].append("jan.extra@example.org")  # one field too many in data row 5
    write_csv(orders_csv(workspace), rows, ORDERS_HEADER)
    ctx = make_ctx()
    with pytest.raises(DataError) as info:
        map_schema(ctx, "orders", ingest(ctx, "orders")["landing"])
    message = fail_step(ctx, "orders", "map_schema", info.value)
    assert "a row has 11 columns where the header has 10" in message
    assert_absent(message + ledger_text(), values_of(rows, agreement_text(workspace)), "the error and the ledger")


def test_undeclared_columns_are_recorded_by_position(make_ctx, workspace):
    rows = people()
    secret_header = "sanne.devries@example.nl"  # an extra column the agreement does not declare
    write_csv(orders_csv(workspace), [[*r[:3], "x", *r[3:]] for r in rows],
              [*ORDERS_HEADER[:3], secret_header, *ORDERS_HEADER[3:]])
    ctx = make_ctx()
    mapped = map_schema(ctx, "orders", ingest(ctx, "orders")["landing"])
    assert mapped["undeclared_columns"] == {"count": 1, "positions": [4]}
    assert secret_header not in json.dumps(mapped) and secret_header not in ledger_text()


QIS = ["age_band", "marital", "country", "sex"]
RARE = {"age_band": "60-70", "marital": "Widowed", "country": "United-States", "sex": "Male"}


def qi_table() -> pa.Table:
    common = {"age_band": "30-40", "marital": "Married", "country": "Netherlands", "sex": "Female"}
    rows = [common] * 6 + [{**common, "marital": "Never-married"}] * 2 + [RARE]
    return pa.table({q: [r[q] for r in rows] for q in QIS} | {"label": [True] * len(rows)})


def test_suppression_records_sizes_never_quasi_identifier_values(make_ctx):
    from pactline.pipeline.suppress import suppress

    ctx = make_ctx()
    protected = ctx.staging("transactions", "protected.parquet")
    ctx.root.write_table(protected, qi_table())
    result = suppress(ctx, "transactions", protected, quasi_identifiers=QIS, k=3, max_suppressed_rate=1.0)
    # one class of 1 row (the widowed man), one of 2: sizes and counts, not who
    assert result["class_sizes_below_k"] == {"1": 1, "2": 1} and result["suppressed"] == 3
    (entry,) = [e for e in open_ledger().entries() if e.event == "rows.suppressed"]
    text = json.dumps(entry.to_dict(), ensure_ascii=False)
    assert_absent(text, {*RARE.values(), "Never-married"}, "the rows.suppressed entry")


def test_partitioned_suppression_records_sizes_never_quasi_identifier_values(make_ctx):
    from pactline.partition import ClassCounts
    from pactline.pipeline.k_classes import k_classes

    ctx = make_ctx()
    parts = []
    for i, half in enumerate((qi_table().slice(0, 5), qi_table().slice(5))):
        classes = ClassCounts(QIS)
        classes.add(half)
        rel = ctx.staging("transactions", f"aggregates/classes-part-{i:05d}.parquet")
        ctx.root.write_table(rel, classes.to_table())
        parts.append({"classes": rel})
    result = k_classes(ctx, "transactions", parts, quasi_identifiers=QIS, k=3, suppress=True, max_suppressed_rate=1.0)
    assert result["class_sizes_below_k"] == {"1": 1, "2": 1}
    (entry,) = [e for e in open_ledger().entries() if e.event == "rows.suppressed"]
    assert_absent(json.dumps(entry.to_dict(), ensure_ascii=False), {*RARE.values(), "Never-married"},
                  "the partitioned rows.suppressed entry")


def served_reports(ctx: RunContext, dataset: str) -> dict[str, str]:
    """The steward summary, GX Data Docs and results of the run's checks (encrypted; the plugin serves them as pages)."""
    folder = ctx.reports(dataset, "checks")
    base = ctx.root.path(folder).rstrip("/") + "/"
    names = [f[len(base):] for f in ctx.root.fs.find(base)]
    return {n: ctx.root.read_bytes(f"{folder}/{n}").decode("utf-8", "replace")
            for n in names if "/static/" not in n}  # GX's own CSS, fonts and logos hold no data


def review_page(ctx: RunContext) -> str:
    from pactline.ui import reviews

    review = reviews.load_run(ctx.root, ctx.loaded.id, RUN_ID)
    assert review is not None and review.passed is False
    page = reviews.render_run(review, fingerprint=ctx.loaded.fingerprint,
                              report_url=lambda *parts: "/reports/" + "/".join(parts))
    assert "A GATE FAILED" in page
    return page


def test_failed_quality_gate_and_pii_scan_show_no_values(make_ctx, workspace):
    from pactline.checks import CheckFailed
    from pactline.pipeline import check_quality
    from pactline.pipeline.scan_pii import scan_pii

    rows = people()
    rows[3][6], rows[9][6] = "ZQX-VENMO-7731", "ZQX-BITCOIN-0042"  # payment_method outside the allowed values
    rows[12][0] = rows[13][0] = "ORD-DUP-99817"  # order_id must be unique
    write_csv(orders_csv(workspace), rows, ORDERS_HEADER)
    ctx = make_ctx()
    mapped = map_schema(ctx, "orders", ingest(ctx, "orders")["landing"])
    scan_pii(ctx, "orders", mapped["staging"], on_undeclared_pii="redact")  # remarks name the customer
    with pytest.raises(CheckFailed) as info:
        check_quality.check_quality(ctx, "orders", mapped["staging"])
    message = fail_step(ctx, "orders", "check_quality", info.value)
    assert "expect_column_values_to_be_in_set on payment_method" in message
    assert "expect_column_values_to_be_unique on order_id" in message

    # every cell, and the ordinary words of the remarks (a redacted remark still says who had chemotherapy)
    values = values_of(rows, agreement_text(workspace)) | set(CONDITIONS)
    assert {"ZQX-VENMO-7731", "ZQX-BITCOIN-0042", "ORD-DUP-99817"} <= values
    entries = list(open_ledger().entries())
    assert {"check.result", "policy.violation", "incident.opened"} <= {e.event for e in entries}
    assert_absent(message, values, "the error")
    assert_absent(json.dumps([e.to_dict() for e in entries], ensure_ascii=False), values, "the ledger")
    page = review_page(ctx)
    assert "payment_method" in page and "remarks" in page and "&lt;PERSON&gt;" in page  # the shape is shown
    assert_absent(page, values, "the review page")
    reports = served_reports(ctx, "orders")
    assert "summary.html" in reports and any("data_docs" in n and n.endswith(".html") for n in reports)
    for name, text in reports.items():
        assert_absent(text, values, name)
    assert_absent(ctx.root.read_bytes(ctx.reports("orders", "pii_scan.json")).decode(), values, "the PII report")


def test_failed_privacy_gate_names_no_equivalence_class(make_ctx):
    from pactline.checks import CheckFailed
    from pactline.pipeline import check_privacy

    ctx = make_ctx()
    n = 30
    released = pa.table({  # transactions as protect releases them; one customer alone in the oldest age band
        "transaction_id": [f"T{900000 + i}" for i in range(n)],
        "customer_email": [f"cust_{i:032x}" for i in range(n)], "iban": ["<IBAN_CODE>"] * n,
        "card_number": ["**** **** **** 1111"] * n, "amount_eur": [12.5] * n, "merchant_category": ["5411"] * n,
        "booked_at": pa.array([dt.datetime(2026, 3, 1)] * n, pa.timestamp("us")),
        "age": ["[30, 40)"] * 15 + ["[40, 50)"] * 14 + ["[90, 100)"],
        "gender": ["female", "male"] * 7 + ["female"] + ["male", "female"] * 7 + ["x"],
        "is_fraud": [False] * n,
    })
    rel = ctx.staging("transactions", "suppressed.parquet")
    ctx.root.write_table(rel, released)
    with pytest.raises(CheckFailed) as info:
        check_privacy.check_privacy(ctx, "transactions", rel)
    message = fail_step(ctx, "transactions", "check_privacy", info.value)
    assert "expect_quasi_identifiers_to_be_k_anonymous on age, gender" in message and "observed 1" in message
    rare = {"[90, 100)"}  # the class's values single the customer out
    assert_absent(message + ledger_text(), rare, "the error and the ledger")
    assert_absent(review_page(ctx), rare, "the review page")
    summary = served_reports(ctx, "transactions")["summary.html"]
    assert "classes below k by size" in summary and "1 class of 1 row" in summary
    for name, text in served_reports(ctx, "transactions").items():
        assert_absent(text, rare, name)


def test_an_expectation_that_raises_on_a_value_does_not_quote_it(tmp_path, monkeypatch):
    import great_expectations as gx
    import pandas as pd

    import expectations.privacy as privacy
    from pactline.checks.runner import run_suite

    def choke(*args, **kwargs):  # what pandas or Arrow say when a cell does not parse
        raise ValueError("could not convert string to float: 'anna.jansen@example.org' at row 3")

    monkeypatch.setattr(privacy, "residual_pii", choke)
    suite = gx.ExpectationSuite(name="s", expectations=[
        privacy.ExpectColumnValuesToHaveNoResidualPii(column="note", max_rate=0.0)])
    result = run_suite(pd.DataFrame({"note": ["anna.jansen@example.org"]}), suite, kind="privacy",
                       agreement_id="a", dataset_id="d", docs_dir=tmp_path)
    assert result.results[0].details["error"] == "could not convert string to float"
    assert "anna.jansen" not in result.to_json() + result.failures_message()
    docs = [p for p in tmp_path.rglob("*.html")]
    assert any(b"could not convert string to float" in p.read_bytes() for p in docs)  # the error is shown...
    assert not [p.name for p in tmp_path.rglob("*") if p.is_file() and b"anna.jansen" in p.read_bytes()]  # ...bare


def test_ledger_listener_withholds_values_of_library_errors():
    from plugins.pactline_plugin import error_text

    text = error_text(ValueError("invalid literal for int() with base 10: 'anna.jansen@example.org'"))
    assert text == "ValueError: invalid literal for int() with base 10"
    assert "Float value … was truncated" in error_text(pa.ArrowInvalid("Float value 1234.5 was truncated converting"))
    own = DataError("column 'total' is declared float but the value in row 7 is not a float")
    assert error_text(own) == f"DataError: {own}"  # Pactline's own messages are kept whole
