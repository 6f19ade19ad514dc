"""pactline.ui without Airflow: escaping, the pages' data and their rendering, CSRF tokens."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from pactline.agreement import load_agreement, load_text
from pactline.charts import Html, bar_chart, e, score_chart
from pactline.ledger import Ledger
from pactline.store import DataRoot
from pactline.ui import agreements, approvals, csrf, incidents, ledger_view, reviews
from pactline.ui.html import countdown, page

HOSTILE = '<script>alert("x")</script>'


def test_escaping_and_page_layout():
    assert e(HOSTILE) == "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
    assert e(Html("<b>safe</b>")) == "<b>safe</b>" and e(None) == ""
    doc = page(HOSTILE, Html("<p>body</p>"), base="/pactline", active="ledger", user=HOSTILE)
    assert "<script>" not in doc and doc.count("&lt;script&gt;") == 3  # title, heading, user
    assert 'href="/pactline/ledger" class="active"' in doc
    chart = bar_chart(HOSTILE, [HOSTILE], [(HOSTILE, "#000", [0.5])])
    assert "<script>" not in chart and chart.startswith("<svg") and "50.0%" in chart
    scores = score_chart("s", [("quality", 0.9, 0.8, ">="), ("copies", 0.2, 0.0, "<=")])
    assert scores.count("#17692f") == 1 and scores.count("#b3261e") == 1  # one meets its threshold, one not


def test_countdown():
    now = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    assert countdown(now + dt.timedelta(hours=49, minutes=5), now) == ("2 d 1 h left", 176700.0)
    assert countdown(now - dt.timedelta(minutes=90), now)[0] == "overdue by 1 h 30 min"
    assert countdown(None, now) == ("unknown", None)


def test_agreements_page_with_matrix_and_invalid_files(tmp_path, example_text):
    (tmp_path / "readmission.yaml").write_text(example_text("readmission"))
    hostile = example_text("fraud").replace("title: ", f"title: '{HOSTILE}' # ", 1)
    (tmp_path / "fraud.yaml").write_text(hostile)
    (tmp_path / "broken.yaml").write_text("apiVersion: pactline/v1\nkind: DataSharingAgreement\nmetadata:\n"
                                          "  id: x\n  id: y\n")
    found = agreements.load_folder(tmp_path)
    assert set(found.valid) == {"readmission-risk", "fraud-detection"}
    assert [i.source for i in found.invalid] == ["broken.yaml"]
    assert found.invalid[0].problems[0].line == 5 and "duplicate key" in found.invalid[0].problems[0].message

    readmission = found.valid["readmission-risk"]
    cells = {(d, c): v for d, c, _, v in agreements.matrix(readmission)}
    assert cells[("admissions", "full_name")]["drop"] == "allowed"
    assert cells[("admissions", "full_name")]["keep"] == "forbidden"  # restriction no-reidentification
    assert cells[("admissions", "full_name")]["mask"] == "denied"
    assert sum(v == "allowed" for v in cells[("claims", "zip")].values()) == 1

    today = dt.date(2027, 12, 31)
    t = agreements.term(readmission, today)
    assert t.days_left == 366 and t.in_force and t.text == "expires in 366 days (2028-12-31)"
    assert agreements.term(readmission, dt.date(2029, 1, 2)).text.startswith("expired 2 days ago")

    html = agreements.render_agreements(found, today, base="/pactline")
    assert "Klinikum Nord Hamburg" in html and readmission.fingerprint in html and 'class="matrix"' in html
    assert "broken.yaml" in html and "duplicate key" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "broken.yaml" not in agreements.render_agreements(found, today, base="/p", show_invalid=False)
    detail = agreements.render_agreement(readmission, today, base="/pactline")
    assert "standard_contractual_clauses" in detail and "permitted model types" in detail


def write_reports(root: DataRoot, agreement_id: str, run_id: str, *, bias_passed: bool = True,
                  generated_at: str = "2026-11-27T10:00:00+00:00") -> str:
    from pactline.store.layout import safe_run_id

    folder = f"{agreement_id}/reports/admissions/{safe_run_id(run_id)}"
    root.write_json(f"{folder}/pii_scan.json", {
        "dataset": "admissions", "run_id": run_id, "fingerprint": "f" * 64,
        "findings": [{"column": "comments", "kind": "undeclared_pii", "declared": "non_personal",
                      "found": "EMAIL_ADDRESS x3", "share": 0.3, "free_text": True}],
        "report": {"columns": [{"name": HOSTILE, "dtype": "string", "entity": "PERSON", "share": 0.9,
                                "confidence": 0.8, "reason": "r", "examples": ["Xxxx"], "entity_counts": {}},
                               {"name": "comments", "dtype": "string", "entity": None, "share": 0.3,
                                "entity_counts": {"EMAIL_ADDRESS": 3}, "examples": []}]}})
    groups = {"raw": {"groups": {"female": {"count": 10, "positive_rate": 0.1}, "male": {"count": 12, "positive_rate": 0.2}},
                      "disparate_impact": 0.5, "parity_difference": 0.1},
              "released": {"groups": {"female": {"count": 9, "positive_rate": 0.12}, "male": {"count": 12, "positive_rate": 0.2}},
                           "disparate_impact": 0.6, "parity_difference": 0.08},
              "attribute": "sex", "label": "readmitted_30d", "positive": True}
    summary = {"run_id": run_id, "generated_at": generated_at, "passed": bias_passed,
               "thresholds": {"quality_rules": [{"rule": "not_null"}], "privacy": {"k_anonymity": {"k": 5}}},
               "checks": {
                   "quality": {"kind": "quality", "passed": True, "suite": "s.q", "docs_link": "data_docs/q/index.html",
                               "results": [{"expectation": "expect_x", "columns": ["case_id"], "observed": 0,
                                            "threshold": {"mostly": 1.0}, "success": True, "clause": "quality_rules[0]",
                                            "description": "case_id is never null"}]},
                   "bias_admissions-synthetic": {"kind": "bias_admissions-synthetic", "passed": True, "suite": "s.b",
                                                 "extras": {"groups": [groups]}, "results": []},
                   "bias": {"kind": "bias", "passed": bias_passed, "suite": "s.b", "docs_link": None,
                            "extras": {"groups": [groups]},
                            "results": [{"expectation": "expect_disparate_impact_to_be_at_least", "columns": ["sex"],
                                         "observed": 0.6, "threshold": {"min": 0.8}, "success": bias_passed,
                                         "clause": "bias_checks[0]", "description": "disparate impact"}]}}}
    root.write_json(f"{folder}/checks/summary.json", summary)
    root.write_bytes(f"{folder}/checks/summary.html", b"<html>summary</html>")
    root.write_json(f"{folder}/synthetic_admissions-synthetic.json", {
        "output": "admissions-synthetic", "passed": False,
        "checks": [{"metric": "quality_score", "observed": 0.7, "threshold": 0.8, "op": ">=", "passed": False,
                    "clause": "privacy.synthetic.min_quality_score"},
                   {"metric": "exact_copies", "observed": 0, "threshold": 0, "op": "<=", "passed": True,
                    "clause": "privacy.synthetic.max_exact_copies"}],
        "quality": {"score": 0.7, "per_column": {"age": {"score": 0.9}}}, "privacy": {"exact_copies": 0},
        "columns": [{"name": "email", "category": "direct_identifier", "role": "faked", "reason": "never learned"}]})
    return folder


def test_reviews_of_a_run(tmp_path):
    root = DataRoot(str(tmp_path / "data"))
    run_id = "manual__2026-11-27T10:00:00+00:00"
    write_reports(root, "readmission-risk", run_id)
    write_reports(root, "readmission-risk", "scheduled__2026-11-20T00:00:00+00:00", bias_passed=False,
                  generated_at="2026-11-20T01:00:00+00:00")
    runs = reviews.list_runs(root, "readmission-risk")
    assert [r.run_id for r in runs] == [run_id, "scheduled__2026-11-20T00:00:00+00:00"]  # newest first
    review = reviews.load_run(root, "readmission-risk", run_id)
    assert review is not None and review.run_id == run_id and review.passed is False  # the synthetic gate failed
    assert reviews.load_run(root, "readmission-risk", "nope") is None

    def report_url(agreement, dataset, run, path):
        return f"/r/{agreement}/{dataset}/{run}/{path}"

    html = reviews.render_run(review, fingerprint="f" * 64, report_url=report_url, on_undeclared="redact")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Positive rate of readmitted_30d by sex" in html and "before protection (raw)" in html
    assert "after protection (released)" in html and "synthetic (admissions-synthetic)" in html
    assert "/r/readmission-risk/admissions/manual__2026-11-27T10_00_00_00_00/checks/summary.html" in html
    assert "checks/data_docs/q/index.html" in html and "GX Data Docs" in html
    assert "says <strong>redact</strong>" in html and "1 VIOLATION(S)" in html
    assert "Synthetic admissions-synthetic: scores against the agreement" in html and "never learned" in html
    index = reviews.render_index({"readmission-risk": runs}, base="/p", pending={("readmission-risk", run_id): 1})
    assert "1 waiting" in index and "/p/runs/readmission-risk/manual__2026-11-27T10%3A00%3A00%2B00%3A00" in index


@pytest.mark.parametrize("path,ok", [
    ("checks/summary.html", True), ("checks/data_docs/a/index.html", True), ("pii_scan.json", False),
    ("checks/../pii_scan.json", False), ("checks//x", False), ("checks/.hidden", False), ("checks\\x", False),
])
def test_report_paths(path, ok):
    assert reviews.report_path_ok(path) is ok


def test_incidents_from_the_ledger(tmp_path, example_text):
    loaded = load_text(example_text("readmission"), "readmission.yaml")
    ledger = Ledger.open(f"sqlite:///{tmp_path}/ledger.sqlite", home=tmp_path)
    opened = dt.datetime.now(dt.UTC)
    fp = loaded.fingerprint
    ledger.append("policy.violation", agreement_id=loaded.id, fingerprint=fp, payload={
        "run_id": "r1", "dataset": "admissions", "kind": "undeclared_pii", "column": "comments", "action": "redact"})
    ledger.append("incident.opened", agreement_id=loaded.id, fingerprint=fp, payload={
        "run_id": "r1", "dataset": "admissions", "kind": "policy.undeclared_pii", "summary": HOSTILE,
        "opened_at": opened.isoformat(), "notify_by": (opened + dt.timedelta(hours=72)).isoformat(),
        "contacts": ["dpo@x.example"], "report": "r.json"})
    ledger.append("check.result", agreement_id=loaded.id, fingerprint=fp, payload={
        "run_id": "r0", "dataset": "claims", "check": "quality", "passed": False, "failures": ["row_count"]})
    ledger.append("check.result", agreement_id=loaded.id, fingerprint=fp, payload={
        "run_id": "r0", "dataset": "claims", "check": "privacy", "passed": True})
    found = incidents.collect(ledger.entries(), {loaded.id: loaded})
    assert [i.kind for i in found] == ["policy.undeclared_pii", "gate.quality"]
    assert [x.event for x in found[0].evidence] == ["policy.violation"]
    orphan = found[1]
    assert orphan.notify_by - orphan.opened_at == dt.timedelta(hours=72)  # from the agreement's deadline
    assert orphan.contacts == ["datenschutz@klinikum-nord.example", "privacy@atlantic-health.example"]
    later = opened + dt.timedelta(hours=100)
    html = incidents.render(found, later, base="/p")
    assert "overdue by" in html and "&lt;script&gt;" in html and "<script>" not in html
    html_now = incidents.render(found, opened, base="/p")
    assert "3 d 0 h left" in html_now or "2 d 23 h left" in html_now
    assert "No policy violation" in incidents.render([], opened, base="/p")


def test_ledger_view_status_entries_and_tampering(tmp_path):
    import sqlite3

    ledger = Ledger.open(f"sqlite:///{tmp_path}/ledger.sqlite", home=tmp_path, checkpoint_every=2)
    for i in range(5):
        ledger.append("task.state" if i % 2 else "approval.decided", agreement_id="a" if i < 4 else "b",
                      payload={"run_id": "r", "n": i, "note": HOSTILE})
    st = ledger_view.status(ledger)
    assert st.ok and st.size == 5 and st.latest_checkpoint["tree_size"] == 4 and st.public_key
    newest = ledger_view.recent(ledger, limit=3, agreements={"a"}, window=2)
    assert [x.index for x in newest] == [3, 2, 1]
    assert [x.index for x in ledger_view.recent(ledger, event="approval.decided", agreements=None)] == [4, 2, 0]
    html = ledger_view.render_ledger(st, newest, [], ledger_view.event_counts(ledger, {"a"}), base="/p",
                                     url_="/p/ledger", filters={"agreement": HOSTILE, "event": None})
    assert "VERIFIED" in html and "<script>" not in html and "No deletion receipts" in html
    ledger.close()
    db = sqlite3.connect(tmp_path / "ledger.sqlite", isolation_level=None)
    db.execute("DROP TRIGGER IF EXISTS ledger_entries_no_update")  # someone with write access to the file
    db.execute("UPDATE ledger_entries SET actor = 'mallory' WHERE idx = 1")
    db.close()
    reopened = Ledger.open(f"sqlite:///{tmp_path}/ledger.sqlite", home=tmp_path)
    st = ledger_view.status(reopened)
    assert st.ok is False and st.first_bad_index == 1
    assert "TAMPERED" in ledger_view.render_status(st)


def test_approvals_panel_and_fingerprint(tmp_path):
    item = approvals.Approval("readmission-risk", "manual__1", "admissions.approve_x", -1, HOSTILE, "body",
                              ["Approve", "Reject"], "2026-11-27T10:00:00+00:00", "awaiting_input")
    html = approvals.render_panel([item], can_decide=True, action="/p/approvals/readmission-risk",
                                  csrf_token="tok", fingerprint="f" * 64)
    assert '<form class="decision" method="post" action="/p/approvals/readmission-risk">' in html
    assert 'name="csrf_token" value="tok"' in html and 'name="fingerprint" value="' + "f" * 64 in html
    assert "<script>" not in html
    read_only = approvals.render_panel([item], can_decide=False, action="/x", csrf_token=None, fingerprint=None)
    assert "<form" not in read_only and "not decide" in read_only
    done = approvals.Approval("a", "r", "t", -1, "s", None, [], None, "success", responded_at="2026-11-27T11:00:00Z",
                              responded_by="admin", chosen=["Reject"], params_input={"comment": "too risky"})
    assert "REJECTED" in approvals.render_panel([done], can_decide=True, action="/x", csrf_token="t", fingerprint=None)
    from pactline.comments import MAX_COMMENT, clean_comment

    assert clean_comment("  ok\x00\x1b fine \n") == "ok fine"
    assert len(clean_comment("x" * 5000)) == MAX_COMMENT

    ledger = Ledger.open(f"sqlite:///{tmp_path}/ledger.sqlite", home=tmp_path)
    ledger.append("approval.requested", agreement_id="readmission-risk", fingerprint="1" * 64,
                  payload={"run_id": "manual__1", "dataset": "admissions", "output": "x"})
    ledger.append("approval.requested", agreement_id="readmission-risk", fingerprint="2" * 64,
                  payload={"run_id": "manual__2", "task_id": "admissions.approve_x"})
    assert approvals.requested_fingerprint(ledger, "readmission-risk", "manual__1", "admissions.approve_x") == "1" * 64
    assert approvals.requested_fingerprint(ledger, "readmission-risk", "manual__2", "admissions.approve_x") == "2" * 64
    assert approvals.requested_fingerprint(ledger, "readmission-risk", "manual__3", "admissions.approve_x") is None


def test_csrf_tokens():
    secret = csrf.derive_secret("app-secret")
    token = csrf.issue(secret, "steward", now=1000)
    assert csrf.valid_for(secret, "steward", token, now=1100)
    assert not csrf.valid_for(secret, "someone-else", token, now=1100)  # tied to the user
    assert not csrf.valid_for(csrf.derive_secret("other"), "steward", token, now=1100)
    assert not csrf.valid_for(secret, "steward", token, now=1000 + csrf.MAX_AGE + 1)  # expired
    assert not csrf.valid_for(secret, "steward", token[:-2] + "xx", now=1100)
    assert csrf.check(secret, "steward", token, token, now=1100) is None
    assert "missing" in csrf.check(secret, "steward", None, token, now=1100)
    assert "mismatch" in csrf.check(secret, "steward", token, csrf.issue(secret, "steward", now=1000), now=1100)
    assert re.fullmatch(r"\d+\.[\w-]+\.[\w-]+", token)
    assert json.dumps(token)  # plain ASCII, fits in a cookie


def test_hitl_body_shown_as_plain_text():
    body = "Review first.\n\n[Open the Pactline review of this run](/pactline/runs/a/b%3A1)"
    assert approvals.plain_body(body) == "Review first.\n\nOpen the Pactline review of this run"


def test_agreement_page_shows_signatures_history_and_the_diff_to_sign(tmp_path, example_text):
    """A steward sees each party's status, the signed versions, and what an amendment widens."""
    from pactline.ui.consent import consent_of
    from tests.conftest import amend, sign_all

    path = tmp_path / "fraud.yaml"
    path.write_text(example_text("fraud"))
    unsigned = agreements.render_agreement(load_agreement(path), dt.date(2027, 1, 1), base="/pactline",
                                           consent=consent_of(load_agreement(path)))
    assert "NOT SIGNED BY ALL" in unsigned and "no public key" in unsigned
    assert "No version has been signed yet" in unsigned
    sign_all(path)
    signed = consent_of(load_agreement(path))
    assert signed.complete and "SIGNED BY ALL" in agreements.render_agreements(
        agreements.load_folder(tmp_path), dt.date(2027, 1, 1), base="/pactline", consents={"fraud-detection": signed})
    amend(path, path.read_text().replace("sandbox_days: 60", "sandbox_days: 120"))  # every party signs it
    (tmp_path / "fraud.yaml.shopco.sig").unlink()  # ... except shopco
    loaded = load_agreement(path)
    page = agreements.render_agreement(loaded, dt.date(2027, 1, 1), base="/pactline", consent=consent_of(loaded))
    assert "NOT SIGNED BY ALL" in page and ">missing<" in page
    assert "Against version 2.1.0" in page and "WIDENING" in page and "retention.sandbox_days" in page
    history = page.split("Signed versions")[1]
    assert "2.1.0" in history and "90." in history  # both signed versions listed, the amendment incomplete


def test_deliveries_show_received_attested_and_overdue():
    from pactline.delivery.attest import Delivery
    from pactline.ui.deliveries import render_deliveries

    day = dt.date(2027, 1, 1)
    rows = [Delivery("out-a", "v1", "vid1", "lab", day, key_released=False, attested=False, overdue=False),
            Delivery("out-a", "v2", "vid2", "lab", day, key_released=True, attested=False, overdue=False),
            Delivery("out-b", "v3", "vid3", "lab", day, key_released=True, attested=True, overdue=False),
            Delivery("out-b", "v4", "vid4", "lab", day, key_released=True, attested=False, overdue=True)]
    html = render_deliveries(rows)
    assert ">on the exchange<" in html and ">received<" in html
    assert 'badge pass">deletion attested<' in html and 'badge fail">OVERDUE<' in html
    assert "No release yet" in render_deliveries([])
