"""The privacy impact assessment (issue 14 item 6): written by the pipeline, recorded in the ledger, shown to readers.

One module-wide world: the fraud agreement (no approval step: its assessments are written at publish) runs through
dag.test on sample data with two planted values a careless assessment would leak (a group label of a protected
attribute, a word in a free-text column that is released as is). The Markdown under each dataset's reports must
name every column's transformation and the run's measured numbers, hold the agreement fingerprint and no partner
value, and be the file whose sha256 the ledger's pia.generated entry holds; the page must answer readers only.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from pactline.agreement import load_agreement
from pactline.checks.result import fmt
from pactline.ledger import Ledger
from pactline.pia.build import build_assessment
from pactline.pia.document import Code, Verdict
from pactline.pia.evidence import RunEvidence, load_evidence
from pactline.pia.generate import GENERATED, StoredPia, pia_path
from pactline.pia.markdown import code, text, to_markdown
from pactline.store.layout import safe_run_id
from pactline.ui import approvals
from tests.conftest import AGREEMENTS, load_generator, raw_values, releases, run_dag, signed_copy

pytestmark = [pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")]

AGREEMENT = "fraud-detection"
PLANTED_GROUP = "xqzplantedgroup"  # replaces the gender label "x" (12 rows); starting with "x" keeps the synthetic sample (and its bias gate) as it was
PLANTED_WORD = "Vlinderplantqzx"  # in released free text (orders.remarks is kept; only PII spans are redacted)
HOSTILE = '<script>alert("x")</script> | `tick` *bold* [link](http://evil.example)'


@dataclass
class World:
    home: Path
    workspace: Path
    run: Any
    loaded: Any

    @property
    def folder(self) -> str:
        return safe_run_id(self.run.run_id)


def rewrite_csv(path: Path, delimiter: str, change) -> None:
    """Each data row through `change(row: dict) -> dict`, header and quoting kept."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        fields, rows = reader.fieldnames, [change(r) for r in reader]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


@pytest.fixture(scope="module")
def world(tmp_path_factory, airflow_home):
    base = tmp_path_factory.mktemp("pia")
    ws = base / "ws"
    mp = pytest.MonkeyPatch()
    mp.setenv("PACTLINE_HOME", str(base / "pactline-home"))
    mp.setenv("PACTLINE_AGREEMENTS", str(ws / "agreements"))
    mp.delenv("PACTLINE_DATA_ROOT", raising=False)
    mp.delenv("PACTLINE_LEDGER_URL", raising=False)
    try:
        load_generator().generate(ws / "data", rows=300, seed=11)
        data = ws / "data" / "fraud"
        rewrite_csv(data / "transactions.csv", ";",
                    lambda r: {**r, "GESLACHT": PLANTED_GROUP if r["GESLACHT"] == "x" else r["GESLACHT"]})
        counter = iter(range(10**6))
        rewrite_csv(data / "orders.csv", ",",
                    lambda r: {**r, "remarks": f"Levering {PLANTED_WORD} ok" if next(counter) % 7 == 0 else r["remarks"]})
        signed_copy(ws / "agreements")
        path = ws / "agreements" / "fraud.yaml"
        run = run_dag(path)
        assert str(run.state) in ("success", "DagRunState.SUCCESS")
        yield World(base / "pactline-home", ws, run, load_agreement(path))
    finally:
        mp.undo()


@pytest.fixture(autouse=True)
def pactline_home(request, monkeypatch, tmp_path):
    """The module's world for the tests that use it (conftest's per-test home for the others)."""
    if "world" not in request.fixturenames:
        home = tmp_path / "pactline-home"
        monkeypatch.setenv("PACTLINE_HOME", str(home))
        return home
    world = request.getfixturevalue("world")
    monkeypatch.setenv("PACTLINE_HOME", str(world.home))
    monkeypatch.setenv("PACTLINE_AGREEMENTS", str(world.workspace / "agreements"))
    return world.home


def stored(world: World, dataset: str) -> tuple[str, str, bytes]:
    """(path, text, bytes as stored at rest) of the run's assessment of `dataset`."""
    from pactline.store import DataRoot

    root = DataRoot()
    rel = pia_path(AGREEMENT, dataset, world.run.run_id)
    return rel, root.read_bytes(rel).decode("utf-8"), root.read_raw(rel)


def entries(world: World, event: str | None = None) -> list[Any]:
    from pactline.recording import open_ledger

    return [x for x in open_ledger().entries(agreement_id=AGREEMENT)
            if (x.payload or {}).get("run_id") == world.run.run_id and event in (None, x.event)]


def section(markdown: str, title: str) -> str:
    start = markdown.index(f"## {title}\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start:end if end > 0 else None]


def result(world: World, dataset: str, kind: str) -> dict[str, Any]:
    from pactline.store import DataRoot

    return DataRoot().read_json(f"{AGREEMENT}/reports/{dataset}/{world.folder}/checks/result_{kind}.json")


def row_of(markdown_section: str, *cells: str) -> str:
    """The one table row holding every one of `cells`."""
    rows = [line for line in markdown_section.splitlines() if line.startswith("|") and all(c in line for c in cells)]
    assert len(rows) == 1, (cells, rows)
    return rows[0]


# -- the file and its ledger entry ---------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["transactions", "orders"])
def test_markdown_is_encrypted_fingerprinted_and_its_sha256_is_in_the_ledger(world, dataset):
    rel, markdown, at_rest = stored(world, dataset)
    assert rel == f"{AGREEMENT}/reports/{dataset}/{world.folder}/pia.md"
    assert markdown.startswith("# Privacy impact assessment: ")
    assert f"- **fingerprint**: `{world.loaded.fingerprint}`" in markdown
    assert b"Privacy impact assessment" not in at_rest and world.loaded.fingerprint.encode() not in at_rest
    generated = [x for x in entries(world, GENERATED) if x.payload["dataset"] == dataset]
    assert generated, "no pia.generated entry"
    latest = generated[-1].payload
    assert latest["sha256"] == hashlib.sha256(markdown.encode("utf-8")).hexdigest()
    assert latest["path"] == rel and latest["bytes"] == len(markdown.encode("utf-8"))
    assert set(latest) == {"run_id", "dataset", "path", "sha256", "bytes", "trigger"}  # never the text
    assert all(x.fingerprint == world.loaded.fingerprint for x in generated)
    # written at publish (this agreement asks for no approval), before each of the dataset's releases
    outputs = {o.id for o in world.loaded.agreement.outputs_for(dataset)}
    published = [x for x in entries(world, "release.published") if x.payload["output"] in outputs]
    assert len(published) == len(outputs) and all(generated[0].index < x.index for x in published)
    assert {x.payload["trigger"] for x in generated} <= {f"{dataset}.publish_{o}" for o in outputs}


@pytest.mark.slow
def test_markdown_names_every_column_transformation_and_the_measured_numbers(world):
    _, markdown, _ = stored(world, "transactions")
    columns = section(markdown, "Transformation of every column")
    for name, column in world.loaded.agreement.dataset("transactions").columns.items():
        row = row_of(columns, f"| `{name}` |")
        assert f"| `{column.transformation.kind}` |" in row, row
    assert "prefix=cust_" in row_of(columns, "| `customer_email` |")  # the parameters as the plan has them
    assert "width=10.0" in row_of(columns, "| `age` |")

    risks = section(markdown, "Measured privacy risks")
    privacy = result(world, "transactions", "privacy")
    k_outcome = next(o for o in privacy["results"] if o["expectation"] == "expect_quasi_identifiers_to_be_k_anonymous")
    row = row_of(risks, "`expect_quasi_identifiers_to_be_k_anonymous`")
    assert f"| {fmt(k_outcome['observed'])} |" in row and f"classes={k_outcome['details']['classes']}" in row
    assert row.startswith("| **PASS** |") and "`privacy.k_anonymity`" in row
    residual = [o for o in privacy["results"] if o["expectation"] == "expect_column_values_to_have_no_residual_pii"]
    assert residual
    for o in residual:
        row = row_of(risks, "`expect_column_values_to_have_no_residual_pii`", f"| `{o['columns'][0]}` |")
        assert f"| {fmt(o['observed'])} |" in row and f"rows_with_pii={o['details']['rows_with_pii']}" in row
    # every privacy outcome is listed, whatever its rule
    assert risks.count("| `privacy` |") == len(privacy["results"])
    suppressed = next(x.payload for x in entries(world, "rows.suppressed") if x.payload["dataset"] == "transactions")
    assert f"suppressed={suppressed['suppressed']}" in risks and f"rows_in={suppressed['rows_in']}" in risks

    synthetic = section(markdown, "Synthetic data: privacy scores")
    assert "### Output `transactions-synthetic` **PASS**" in synthetic
    assert "\n| `exact_copies` | 0 |\n" in synthetic  # the measure, as the report holds it
    assert row_of(synthetic, "| **PASS** | `exact_copies` | 0 | `<= 0` |")  # the gate on it
    assert "No differentially private output" in section(markdown, "Differential privacy: epsilon spent")
    bias = section(markdown, "Bias")
    assert bias.count("| `bias` |") == len(result(world, "transactions", "bias")["results"])
    assert "| `landing_days` | 7 |" in section(markdown, "Retention and access")


@pytest.mark.slow
def test_markdown_holds_no_partner_value(world):
    from pactline.store import DataRoot

    # the planted values were there to leak: in the run's own (encrypted) bias report, and in the release
    bias_report = json.dumps(result(world, "transactions", "bias"))
    assert PLANTED_GROUP in bias_report
    _, orders = releases(AGREEMENT, world.run.run_id)["orders-release"]
    assert any(PLANTED_WORD in (r or "") for r in orders["remarks"].to_pylist())
    secrets = {PLANTED_GROUP, PLANTED_WORD}
    for dataset in ("transactions", "orders"):
        secrets |= raw_values(world.workspace, world.loaded, dataset)
    for dataset in ("transactions", "orders"):
        _, markdown, _ = stored(world, dataset)
        leaked = sorted(v for v in secrets if v in markdown)
        assert not leaked, f"partner values in the {dataset} assessment: {leaked[:5]}"
    ledger_text = json.dumps([x.payload for x in entries(world, GENERATED)])
    assert "Privacy impact assessment" not in ledger_text and PLANTED_GROUP not in ledger_text
    assert DataRoot().exists(f"{AGREEMENT}/reports/orders/{world.folder}/pia.md")


@pytest.mark.slow
def test_open_incidents_until_acknowledged(world):
    from pactline.recording import open_ledger
    from pactline.store import DataRoot

    _, markdown, _ = stored(world, "orders")
    incidents = section(markdown, "Open incidents")
    opened = [x for x in entries(world, "incident.opened") if x.payload["dataset"] == "orders"]
    assert opened  # the undeclared PII in remarks opened one
    row = row_of(incidents, f"| {opened[0].index} |")
    assert "`policy.undeclared_pii`" in row and "| this run |" in row
    # once a steward acknowledges it (the entry names the incident by ledger index), it is no longer open
    lg = open_ledger()
    for x in opened:
        lg.append("incident.acknowledged", agreement_id=AGREEMENT, fingerprint=world.loaded.fingerprint,
                  actor="test", payload={"incident": x.index, "run_id": "acknowledgement"})
    ev = load_evidence(DataRoot(), AGREEMENT, "orders", world.run.run_id, lg.entries(agreement_id=AGREEMENT))
    after = section(to_markdown(build_assessment(world.loaded, "orders", ev)), "Open incidents")
    assert f"| {opened[0].index} |" not in after


# -- the page -----------------------------------------------------------------------------------------------------

def client_and_tokens():
    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    client = TestClient(create_app())
    am = get_auth_manager()
    tokens = {who: am.generate_jwt(SimpleAuthManagerUser(username=who, role=role))
              for who, role in (("viewer", "viewer"), ("nobody", None))}
    return client, tokens


@pytest.mark.slow
def test_page_renders_for_readers_only_and_links_from_the_review(world):
    client, tokens = client_and_tokens()
    page = f"/pactline/pia/{AGREEMENT}/transactions/{world.folder}"
    for route in (page, f"{page}/markdown"):
        assert client.get(route).status_code == 401
        assert client.get(route, cookies={"_token": tokens["nobody"]}).status_code == 403
    resp = client.get(page, cookies={"_token": tokens["viewer"]})
    assert resp.status_code == 200, resp.text[:500]
    assert "Content-Security-Policy" in resp.headers and "<script" not in resp.text.lower()
    body = resp.text
    for needle in ("Transformation of every column", "<code>pseudonymise</code>", "Measured privacy risks",
                   "<code>expect_quasi_identifiers_to_be_k_anonymous</code>", world.loaded.fingerprint,
                   "RECORDED", "Open incidents"):
        assert needle in body, needle
    assert PLANTED_GROUP not in body and PLANTED_WORD not in body
    # the Markdown the page offers is the stored file, byte for byte (the one the ledger's sha256 is of)
    md = client.get(f"{page}/markdown", cookies={"_token": tokens["viewer"]})
    _, markdown, _ = stored(world, "transactions")
    assert md.status_code == 200 and md.text == markdown and md.headers["content-type"].startswith("text/markdown")
    # a run id works as well as its folder; a dataset or run that is not there does not
    assert client.get(f"/pactline/pia/{AGREEMENT}/transactions/{quote(world.run.run_id, safe='')}",
                      cookies={"_token": tokens["viewer"]}).status_code == 200
    for missing in (f"/pactline/pia/{AGREEMENT}/nope/{world.folder}", f"/pactline/pia/{AGREEMENT}/transactions/nope",
                    f"/pactline/pia/{AGREEMENT}/transactions/..", f"/pactline/pia/{AGREEMENT}/orders/nope/markdown"):
        assert client.get(missing, cookies={"_token": tokens["viewer"]}).status_code == 404, missing
    review = client.get(f"/pactline/runs/{AGREEMENT}/{quote(world.run.run_id, safe='')}",
                        cookies={"_token": tokens["viewer"]}).text
    assert f'href="/pactline/pia/{AGREEMENT}/transactions/{world.folder}"' in review
    assert f'href="/pactline/pia/{AGREEMENT}/orders/{world.folder}"' in review


# -- without a run: the document, the Markdown, the approval form ------------------------------------------------------

def test_declared_sections_of_a_run_without_reports():
    """Transfers with their mechanisms, Art. 9 legal bases and the plan's transformations come from the agreement
    alone; what was not measured says so."""
    loaded = load_agreement(AGREEMENTS / "readmission.yaml")
    ev = RunEvidence(loaded.id, "admissions", "manual__1")
    markdown = to_markdown(build_assessment(loaded, "admissions", ev))
    transfers = section(markdown, "Transfers and their mechanisms")
    assert "| DE | US | `standard_contractual_clauses` | SCC 2021/914 module 1, annex II measures |" in transfers
    assert row_of(transfers, "| `admissions-release` | DE | US | `standard_contractual_clauses` | **PASS** |")
    categories = section(markdown, "Data categories and legal bases")
    assert "Special-category data (GDPR Art. 9 legal bases)" in categories
    assert row_of(categories, "| `race` | `Ethnie` |", "art9\\_explicit\\_consent")
    assert "| `full_name` | direct\\_identifier | `drop` |" in section(markdown, "Transformation of every column")
    assert "No privacy gate result for this run" in section(markdown, "Measured privacy risks")
    assert "No differentially private output" in markdown and "- **gates**: **n/a**" in markdown


def test_an_uncovered_transfer_is_flagged():
    from pactline.agreement import load_text

    yaml_text = (AGREEMENTS / "readmission.yaml").read_text()
    start = yaml_text.index("transfers:")
    loaded = load_text(yaml_text[:start] + "transfers: []\n" + yaml_text[yaml_text.index("keys:", start):])
    markdown = to_markdown(build_assessment(loaded, "admissions", RunEvidence(loaded.id, "admissions", "r")))
    row = row_of(section(markdown, "Transfers and their mechanisms"), "| `admissions-release` |")
    assert "no declared mechanism" in row and "**FAIL**" in row


def test_generic_over_outcomes_and_dp_entries(tmp_path):
    """A privacy rule the builder has never heard of, and a dp.* ledger entry, appear without a code change; an
    observed value that is not a number and nested details (where labels live) stay out."""
    loaded = load_agreement(AGREEMENTS / "fraud.yaml")
    lg = Ledger.open(f"sqlite:///{tmp_path}/ledger.sqlite", home=tmp_path)
    lg.append("dp.spent", agreement_id=loaded.id, payload={"run_id": "r1", "dataset": "transactions",
                                                            "output": "transactions-synthetic", "epsilon": 0.5})
    lg.append("dp.spent", agreement_id=loaded.id, payload={"run_id": "r0", "epsilon": 1.25})
    lg.append("rows.suppressed", agreement_id=loaded.id, payload={
        "run_id": "r1", "dataset": "transactions", "suppressed": 4, "levels": {"age": 1, "gender": 0},
        "class_sizes_below_k": {"1": 2}, "vanished": {PLANTED_GROUP: 12}})
    # an incident whose message a careless step filled with a group label: listed by kind, the message left out
    lg.append("incident.opened", agreement_id=loaded.id, payload={
        "run_id": "r1", "dataset": "transactions", "kind": "policy.suppress", "summary": f"group {PLANTED_GROUP}"})
    ev = RunEvidence(loaded.id, "transactions", "r1", "r1", entries=list(lg.entries()))
    ev.results["privacy"] = {"kind": "privacy", "passed": False, "results": [
        {"expectation": "expect_feature_not_to_leak_the_label", "columns": ["merchant_category"], "observed": 0.97,
         "threshold": {"max_auc": 0.9}, "success": False, "clause": "privacy.feature_leakage",
         "description": "merchant_category alone predicts is_fraud with AUC at most 0.9",
         "details": {"rows": 300, "groups": {PLANTED_GROUP: 3}, "top": PLANTED_WORD}},
        {"expectation": "expect_records_at_risk_to_be_at_most", "columns": ["age", "gender"],
         "observed": {PLANTED_GROUP: 0.5}, "threshold": {"max": 0.05}, "success": True,
         "clause": "privacy.reidentification.max_records_at_risk", "details": {"records_at_risk": 0.01}}]}
    markdown = to_markdown(build_assessment(loaded, "transactions", ev))
    risks = section(markdown, "Measured privacy risks")
    leak = row_of(risks, "`expect_feature_not_to_leak_the_label`")
    assert leak.startswith("| **FAIL** |") and "| 0.97 |" in leak and "`max_auc=0.9`" in leak and "`rows=300`" in leak
    assert "`privacy.feature_leakage`" in leak
    assert "Suppression (`rows.suppressed`): `levels[age]=1, levels[gender]=0, suppressed=4`." in risks
    at_risk = row_of(risks, "`expect_records_at_risk_to_be_at_most`")
    assert "see the run's review" in at_risk and "`records_at_risk=0.01`" in at_risk
    assert risks.index("feature_not_to_leak") < risks.index("records_at_risk_to_be")  # failures first
    assert PLANTED_GROUP not in markdown and PLANTED_WORD not in markdown
    dp = section(markdown, "Differential privacy: epsilon spent")
    assert "Epsilon spent by this run: 0.5; by every run of this agreement: 1.75." in dp
    assert "- **gates**: **FAIL**" in markdown
    assert "| `policy.suppress` | `transactions` | this run |" in section(markdown, "Open incidents")


def test_markdown_escapes_agreement_text():
    assert text(HOSTILE) == ('&lt;script&gt;alert("x")&lt;/script&gt; \\| \\`tick\\` \\*bold\\* '
                             "\\[link\\](http://evil.example)")
    assert code("a`b|c") == "``a`b\\|c``" and code("`x`") == "`` `x` ``"
    from pactline.agreement import load_text

    yaml_text = re.sub(r"(?m)^  title: .*$", f"  title: '{HOSTILE}'", (AGREEMENTS / "fraud.yaml").read_text(), count=1)
    yaml_text = yaml_text.replace("    name: Nordbank N.V.\n", '    name: "Evil\\n## Injected heading"\n', 1)
    loaded = load_text(yaml_text)
    assert loaded.agreement.metadata.title == HOSTILE and loaded.agreement.parties[0].name.startswith("Evil\n")
    doc = build_assessment(loaded, "orders", RunEvidence(loaded.id, "orders", "r"))
    markdown = to_markdown(doc)
    assert "<script>" not in markdown and "\n## Injected" not in markdown
    assert "| Evil ## Injected heading |" in markdown  # one cell, one line: no heading can start
    from pactline.ui.pia import render_pia

    page = render_pia(doc, StoredPia("p", None, ()), markdown_url="/m", review_url="/r")
    assert "<script>" not in page and "&lt;script&gt;" in page and "No assessment file has been written" in page
    assert isinstance(doc.facts[-1][1], Verdict) and isinstance(doc.facts[0][1], Code)


def test_approval_form_links_the_assessment():
    item = approvals.Approval("readmission-risk", "manual__2026-01-01T00:00:00+00:00", "admissions.approve_x", -1,
                              "Release x?", "body", ["Approve", "Reject"], "2026-11-27T10:00:00+00:00",
                              "awaiting_input")
    assert item.dataset == "admissions"
    html = approvals.render_panel([item], can_decide=True, action="/p/approvals/readmission-risk", csrf_token="tok",
                                  fingerprint="f" * 64,
                                  pia_url=lambda x: f"/p/pia/{x.dag_id}/{x.dataset}/{safe_run_id(x.run_id)}")
    link = '<a href="/p/pia/readmission-risk/admissions/manual__2026-01-01T00_00_00_00_00">privacy impact assessment</a>'
    assert link in html and html.index(link) < html.index("<form")
    assert "privacy impact assessment" not in approvals.render_panel(
        [item], can_decide=True, action="/x", csrf_token="t", fingerprint=None)
    assert re.search(r"Read the <a [^>]+>privacy impact assessment</a> of this release before you decide", html)
