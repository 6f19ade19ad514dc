"""The steward pages through Airflow's own API app (create_app, the plugin mounted as in `airflow api-server`).

One module-wide world: the readmission agreement runs through dag.test on Airflow's SQLite DB with
the real approval step. When it waits for input, a steward approves in the Pactline page (CSRF token,
fingerprint, Airflow's HITL mechanism), the task resumes, records the decision and the release is
published. A second run is rejected, which skips publishing. Landing versions are then purged so
the ledger page has deletion receipts. Every route answers 401 anonymous, 403 without permission and
200 with it.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import load_generator, signed_copy

# The JWT secret Airflow generates for a test process is short; it is not what is under test here.
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")]

AGREEMENT = "readmission-risk"
APPROVE = "admissions.approve_admissions-release"
PUBLISH = "admissions.publish_admissions-release"
AS_OF = "2027-01-01"
BROKEN = """apiVersion: pactline/v1
kind: DataSharingAgreement
metadata:
  id: broken-one
  version: "1.0"
  title: Broken
  effective: 2026-01-01
  expires: 2025-01-01
"<script>alert(1)</script>": 1
"""


@dataclass
class World:
    home: Path
    agreements: Path
    client: Any
    tokens: dict[str, str]
    approved: dict[str, Any] = field(default_factory=dict)
    rejected: dict[str, Any] = field(default_factory=dict)
    approved_run: Any = None
    rejected_run: Any = None
    purge: Any = None

    def as_(self, who: str | None) -> dict[str, str]:
        return {"_token": self.tokens[who]} if who else {}


def api_app():
    from airflow.api_fastapi.app import create_app

    return create_app()


def token_for(username: str, role: str | None) -> str:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=username, role=role))


def waiting_run(timeout: float = 240) -> str:
    """The run whose approval step is parked in awaiting_input."""
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with create_session(scoped=False) as session:
            run_id = session.scalar(select(TI.run_id).where(
                TI.dag_id == AGREEMENT, TI.task_id == APPROVE, TI.state == TaskInstanceState.AWAITING_INPUT))
        if run_id:
            return run_id
        time.sleep(0.5)
    raise TimeoutError("the approval step never waited for input")


def force_reject(run_id: str | None) -> None:
    """Unblock dag.test if the steward's side of a test failed (the test then reports that failure)."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
    from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
    from airflow.utils.session import create_session

    run_id = run_id or waiting_run(30)
    with create_session(scoped=False) as session:
        update_hitl_detail(dag_id=AGREEMENT, dag_run_id=run_id, task_id=APPROVE, map_index=-1, session=session,
                           update_hitl_detail_payload=UpdateHITLDetailPayload(chosen_options=["Reject"],
                                                                              params_input={"comment": "test aborted"}),
                           user=SimpleAuthManagerUser(username="test-harness", role="admin"))


def form_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', html))


def run_url(run_id: str) -> str:
    from urllib.parse import quote

    return f"/pactline/runs/{AGREEMENT}/{quote(run_id, safe='')}"


class Jarless:
    """The test client with only the cookies each request names (its jar would keep the CSRF cookie)."""

    def __init__(self, client: Any):
        self.client = client

    def get(self, url: str, **kw: Any) -> Any:
        self.client.cookies.clear()
        return self.client.get(url, **kw)

    def post(self, url: str, **kw: Any) -> Any:
        self.client.cookies.clear()
        return self.client.post(url, **kw)


def steward(world: World, decision: str, out: dict[str, Any]) -> threading.Thread:
    """A thread that acts as the steward once the approval step waits: probes the guards, then decides."""

    def act() -> None:
        run_id = None
        try:
            run_id = out["run_id"] = waiting_run()
            c = Jarless(world.client)
            viewer_page = c.get(run_url(run_id), cookies=world.as_("viewer"))
            out["viewer_page"] = (viewer_page.status_code, viewer_page.text)
            page = c.get(run_url(run_id), cookies=world.as_("admin"))
            out["page"] = (page.status_code, page.text)
            fields = form_fields(page.text)
            out["fields"] = fields
            cookie = page.cookies.get("pactline_csrf")
            action = f"/pactline/approvals/{AGREEMENT}"
            form = {**fields, "decision": decision, "comment": f"{decision}d after review <b>ok</b>"}
            admin = {**world.as_("admin"), "pactline_csrf": cookie or ""}

            def post(data: dict[str, str], cookies: dict[str, str], **headers: str) -> int:
                return c.post(action, data=data, cookies=cookies, headers=headers, follow_redirects=False).status_code

            out["anonymous"] = post(form, {})
            out["viewer"] = post(form, {**world.as_("viewer"), "pactline_csrf": cookie or ""})
            out["no_cookie"] = post(form, world.as_("admin"))
            out["no_token"] = post({k: v for k, v in form.items() if k != "csrf_token"}, admin)
            out["other_users_token"] = post(form, {**world.as_("admin2"), "pactline_csrf": cookie or ""})
            out["cross_site"] = post(form, admin, origin="https://evil.example")
            out["wrong_fingerprint"] = post({**form, "fingerprint": "0" * 64}, admin)
            out["not_an_approval"] = post({**form, "task_id": "admissions.ingest"}, admin)
            out["no_reason"] = post({**form, "decision": "Reject", "comment": ""}, admin) if decision == "Approve" else None
            done = c.post(action, data=form, cookies=admin, follow_redirects=False)
            out["decided"] = (done.status_code, done.headers.get("location"))
            out["again"] = post(form, admin)
            after = c.get(done.headers.get("location") or run_url(run_id), cookies=world.as_("admin"))
            out["after"] = (after.status_code, after.text)
        except BaseException as err:  # the run must not hang: reject it so dag.test returns
            out["error"] = repr(err)
            try:
                force_reject(run_id)
            except BaseException as err2:
                out["error"] += f"; could not unblock the run: {err2!r}"

    thread = threading.Thread(target=act, daemon=True)
    thread.start()
    return thread


def run_dag(path: Path, mark_success: str | None = None):
    from operators.render import render
    from pactline.agreement import load_agreement

    dag = render(load_agreement(path))
    return dag.test(run_conf={"as_of": AS_OF}, mark_success_pattern=mark_success)


@pytest.fixture(scope="module")
def world(tmp_path_factory, airflow_home):
    from fastapi.testclient import TestClient

    base = tmp_path_factory.mktemp("ui")
    ws = base / "ws"
    load_generator().generate(ws / "data", rows=300, seed=11)
    mp = pytest.MonkeyPatch()
    mp.setenv("PACTLINE_HOME", str(base / "pactline-home"))
    signed_copy(ws / "agreements")
    mp.setenv("PACTLINE_AGREEMENTS", str(ws / "agreements"))
    mp.delenv("PACTLINE_DATA_ROOT", raising=False)
    mp.delenv("PACTLINE_LEDGER_URL", raising=False)
    try:
        client = TestClient(api_app())
        tokens = {"admin": token_for("admin", "admin"), "admin2": token_for("steward2", "admin"),
                  "viewer": token_for("viewer", "viewer"), "nobody": token_for("nobody", None)}
        w = World(base / "pactline-home", ws / "agreements", client, tokens)
        path = ws / "agreements" / "readmission.yaml"
        # 1. the whole pipeline; the steward approves in the page while dag.test waits for input
        thread = steward(w, "Approve", w.approved)
        w.approved_run = run_dag(path)
        thread.join(60)
        # 2. a second run (heavy steps marked done): the steward rejects, so nothing is published
        thread = steward(w, "Reject", w.rejected)
        w.rejected_run = run_dag(path, mark_success=rf"(?!{re.escape(APPROVE)}$|{re.escape(PUBLISH)}$).*")
        thread.join(60)
        # 3. retention: landing versions are due after 14 days; purging them writes deletion receipts
        from pactline.retention import run_purge

        w.purge = run_purge(dt.date.today() + dt.timedelta(days=15), agreements=[ws / "agreements"])
        (ws / "agreements" / "broken.yaml").write_text(BROKEN)  # now, so it never disturbed the runs
        yield w
    finally:
        mp.undo()


@pytest.fixture(autouse=True)
def pactline_home(world, monkeypatch):
    """Overrides conftest's per-test home: these tests all read the module's world."""
    monkeypatch.setenv("PACTLINE_HOME", str(world.home))
    monkeypatch.setenv("PACTLINE_AGREEMENTS", str(world.agreements))
    return world.home


def ledger_entries(run_id: str | None = None):
    from pactline.recording import open_ledger

    return [x for x in open_ledger().entries() if run_id is None or (x.payload or {}).get("run_id") == run_id]


def task_state(run_id: str, task_id: str) -> str:
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session(scoped=False) as session:
        state = session.scalar(select(TI.state).where(TI.dag_id == AGREEMENT, TI.run_id == run_id, TI.task_id == task_id))
    return str(getattr(state, "value", state))


def audit_log(run_id: str) -> list[tuple[str, str, str]]:
    import json

    from airflow.models.log import Log
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session(scoped=False) as session:
        rows = session.execute(select(Log.owner, Log.task_id, Log.extra).where(
            Log.event == "pactline.approval", Log.run_id == run_id)).all()
    return [(owner, task, json.loads(extra)["decision"]) for owner, task, extra in rows]


# -- the approval, end to end -----------------------------------------------------------------------

def test_steward_approves_in_the_page_and_the_release_continues(world):
    out = world.approved
    assert "error" not in out, out.get("error")
    run = world.approved_run
    assert out["run_id"] == run.run_id
    assert str(getattr(run.state, "value", run.state)) == "success"
    status, page = out["page"]
    assert status == 200 and 'name="decision" value="Approve"' in page and "Release admissions-release" in page
    from pactline.agreement import load_agreement

    fingerprint = load_agreement(world.agreements / "readmission.yaml").fingerprint
    assert out["fields"]["fingerprint"] == fingerprint and out["fields"]["run_id"] == run.run_id
    # the guards, each refusing before anything is recorded
    assert out["anonymous"] == 401
    assert out["viewer"] == 403  # read-only users may not decide
    assert out["no_cookie"] == 403 and out["no_token"] == 403 and out["other_users_token"] == 403
    assert out["cross_site"] == 403
    assert out["wrong_fingerprint"] == 409
    assert out["not_an_approval"] == 404
    assert out["no_reason"] == 400  # rejecting needs a reason
    assert out["decided"][0] == 303 and "decided=Approve" in out["decided"][1]
    assert out["again"] == 409  # Airflow's HITL record takes one answer only
    viewer_status, viewer_page = out["viewer_page"]
    assert viewer_status == 200 and 'name="decision"' not in viewer_page and "not decide" in viewer_page
    after_status, after = out["after"]
    assert after_status == 200 and "Approved. The release continues" in after

    assert task_state(run.run_id, APPROVE) == "success"
    assert task_state(run.run_id, PUBLISH) == "success"
    assert audit_log(run.run_id) == [("admin", APPROVE, "Approve")]  # Airflow's own audit log, once
    entries = ledger_entries(run.run_id)
    events = [x.event for x in entries]
    for event in ("approval.requested", "approval.submitted", "approval.decided"):
        assert events.count(event) == 1, event
    submitted = next(x for x in entries if x.event == "approval.submitted")
    decided = next(x for x in entries if x.event == "approval.decided")
    published = next(x for x in entries if x.event == "release.published"
                     and x.payload["output"] == "admissions-release")
    assert submitted.payload["user"] == "admin" and submitted.payload["decision"] == "Approve"
    assert submitted.payload["comment"] == "Approved after review <b>ok</b>"
    assert submitted.fingerprint == fingerprint and submitted.actor == "airflow-ui:admin"
    assert decided.payload["user"] == "admin" and decided.payload["decision"] == "Approve"
    assert decided.payload["comment"] == "Approved after review <b>ok</b>" and decided.fingerprint == fingerprint
    assert submitted.index < decided.index < published.index
    # the comment is shown escaped in the page's ledger section
    assert "Approved after review &lt;b&gt;ok&lt;/b&gt;" in after and "<b>ok</b>" not in after


def test_rejection_stops_the_release(world):
    out = world.rejected
    assert "error" not in out, out.get("error")
    run = world.rejected_run
    assert out["decided"][0] == 303
    assert task_state(run.run_id, APPROVE) == "success"
    assert task_state(run.run_id, PUBLISH) == "skipped"
    entries = ledger_entries(run.run_id)
    decided = [x.payload for x in entries if x.event == "approval.decided"]
    assert [d["decision"] for d in decided] == ["Reject"] and decided[0]["user"] == "admin"
    assert not [x for x in entries if x.event == "release.published" and x.payload["output"] == "admissions-release"]
    assert "Rejected. The release is stopped" in out["after"][1]


# -- every route: 401 anonymous, 403 without permission, 200 with it ---------------------------------

def report_folder(world: World) -> str:
    from pactline.store.layout import safe_run_id

    return safe_run_id(world.approved_run.run_id)


def get_routes(world: World) -> list[str]:
    folder = report_folder(world)
    return [
        "/pactline/agreements",
        f"/pactline/agreements/{AGREEMENT}",
        "/pactline/reviews",
        run_url(world.approved_run.run_id),
        f"/pactline/reports/{AGREEMENT}/admissions/{folder}/checks/summary.html",
        "/pactline/ledger",
        "/pactline/incidents",
    ]


@pytest.mark.parametrize("index", range(7))
def test_read_routes_need_a_user_who_may_read(world, index):
    route = get_routes(world)[index]
    c = world.client
    assert c.get(route).status_code == 401
    assert c.get(route, cookies=world.as_("nobody")).status_code == 403
    for who in ("viewer", "admin"):
        resp = c.get(route, cookies=world.as_(who))
        assert resp.status_code == 200, (who, route, resp.text[:500])
        assert "Content-Security-Policy" in resp.headers
        assert "<script" not in resp.text.lower() or "/reports/" in route  # our pages need no script
    # a bearer token is a user too
    assert c.get(route, headers={"Authorization": f"Bearer {world.tokens['viewer']}"}).status_code == 200


def test_home_and_decision_routes(world):
    c = world.client
    assert c.get("/pactline/", follow_redirects=False).status_code == 401
    assert c.get("/pactline/", cookies=world.as_("nobody"), follow_redirects=False).status_code == 403
    home = c.get("/pactline/", cookies=world.as_("viewer"), follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"].endswith("/pactline/agreements")
    action = f"/pactline/approvals/{AGREEMENT}"
    assert c.post(action, data={}).status_code == 401
    assert c.post(action, data={}, cookies=world.as_("nobody")).status_code == 403
    assert c.post(action, data={}, cookies=world.as_("viewer")).status_code == 403
    assert c.post(action, data={}, cookies=world.as_("admin")).status_code == 403  # no CSRF token


# -- what the pages show --------------------------------------------------------------------------

def test_agreements_page_lists_agreements_and_located_errors_escaped(world):
    text = world.client.get("/pactline/agreements", cookies=world.as_("viewer")).text
    assert "Readmission-risk model" in text and "Klinikum Nord Hamburg" in text and "expires in" in text
    assert 'class="matrix"' in text and "pseudonymise" in text
    assert "broken.yaml" in text and "INVALID" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>alert(1)" not in text
    assert "expires (2025-01-01) must be after effective" in text


def test_review_page_shows_scan_checks_charts_and_data_docs(world):
    c = world.client
    text = c.get(run_url(world.approved_run.run_id), cookies=world.as_("viewer")).text
    for needle in ("PII scan", "undeclared_pii", "Positive rate of readmitted_30d by sex", "before protection (raw)",
                   "after protection (released)", "GX Data Docs", "k-anonymity", "<svg", "admissions", "claims"):
        assert needle in text, needle
    docs = re.findall(r'href="(/pactline/reports/[^"]+/index\.html)"', text)
    assert docs
    resp = c.get(docs[0].replace("&amp;", "&"), cookies=world.as_("viewer"))
    assert resp.status_code == 200 and "sandbox" in resp.headers["Content-Security-Policy"]
    folder = report_folder(world)
    for bad in (f"/pactline/reports/{AGREEMENT}/admissions/{folder}/pii_scan.json",
                f"/pactline/reports/{AGREEMENT}/admissions/{folder}/checks/..%2F..%2F..%2F..%2Fkeys",
                f"/pactline/reports/{AGREEMENT}/admissions/..%2F..%2F/checks/summary.html"):
        assert c.get(bad, cookies=world.as_("admin")).status_code == 404, bad


def test_reviews_index_links_runs(world):
    text = world.client.get("/pactline/reviews", cookies=world.as_("viewer")).text
    assert run_url(world.approved_run.run_id) in text
    assert "No release is waiting for approval" in text


def test_ledger_page_verifies_and_proves_receipts(world):
    assert world.purge.receipts and not world.purge.errors
    text = world.client.get("/pactline/ledger", cookies=world.as_("viewer")).text
    assert "VERIFIED" in text and "Latest signed checkpoint" in text and "tree size" in text
    assert "approval.decided" in text
    receipts = re.findall(r"<code>(rcpt-[0-9a-f-]+)</code> <span class=\"badge pass\">VERIFIES</span>", text)
    assert receipts, "no verified deletion receipt shown"
    assert "audit path (RFC 9162)" in text
    only = world.client.get("/pactline/ledger?event=approval.submitted", cookies=world.as_("viewer")).text
    assert "approval.submitted" in only and "task.state</code>" not in only


def test_incidents_page_counts_down(world):
    text = world.client.get("/pactline/incidents", cookies=world.as_("viewer")).text
    assert "policy.undeclared_pii" in text and "to notify" in text
    assert "datenschutz@klinikum-nord.example" in text
    assert re.search(r"(\d+ d \d+ h|\d+ h \d+ min) left|overdue by", text)


def test_plugin_is_registered_with_views(world):
    resp = world.client.get("/api/v2/plugins", cookies=world.as_("admin"))
    assert resp.status_code == 200
    plugin = next(p for p in resp.json()["plugins"] if p["name"] == "pactline")
    names = {v["name"]: v for v in plugin["external_views"]}
    assert {"Agreements", "Reviews", "Ledger", "Incidents"} <= set(names)
    assert names["Pactline review"]["destination"] == "dag_run"
    assert names["Pactline review"]["href"] == "/pactline/runs/{DAG_ID}/{RUN_ID}"
    assert plugin["fastapi_apps"][0]["url_prefix"] == "/pactline"
    assert plugin["listeners"]


def test_key_release_through_the_providers_api(world):
    """The recipient's analyst asks the provider's API server for the approved release's key: it is released
    wrapped to atlantic-health (only that party opens it); everyone else is refused, and each answer is in
    the ledger."""
    from pactline.delivery.key_release import unwrap_key
    from pactline.parties import PartyKeys

    [published] = [x.payload for x in ledger_entries(world.approved_run.run_id)
                   if x.event == "release.published" and x.payload["output"] == "admissions-release"]
    assert published["exchange"]["exported"]  # the signed release is on the exchange
    url = f"/pactline/api/v1/keys/admissions-release/{published['version_id']}"
    analyst = token_for("atlantic-health-ml-team", "viewer")

    def ask(token: str | None, party: str = "atlantic-health", **kw: Any):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return world.client.post(url, json={"party": party}, headers=headers, **kw)

    ok = ask(analyst)
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["grant"]["principal"] == "atlantic-health-ml-team" and body["expires"] == "2028-12-31"
    assert len(unwrap_key(body, AGREEMENT, PartyKeys(), "atlantic-health")) == 32
    assert ask(None).status_code == 401
    refused = ask(world.tokens["admin"])  # no access: grant names the admin
    assert refused.status_code == 403 and refused.json()["refused"] == "access"
    wrong_party = ask(analyst, party="klinikum-nord")
    assert wrong_party.status_code == 403 and "recipient" in wrong_party.json()["refused"]
    assert ask(analyst, party="../x").status_code == 400
    assert world.client.post(url.replace("admissions-release", "claims-release"), json={"party": "atlantic-health"},
                             headers={"Authorization": f"Bearer {analyst}"}).status_code == 404
    events = [(x.event, x.payload.get("principal")) for x in ledger_entries() if x.event.startswith("key.")]
    assert ("key.released", "atlantic-health-ml-team") in events and ("key.refused", "admin") in events


def test_the_approval_form_links_the_assessment_written_before_it(world):
    """The approval step writes the privacy impact assessment before it asks; the steward's form links it and the
    request names its sha256 (the file's, as the ledger's pia.generated entry holds it)."""
    import hashlib

    from pactline.pia.generate import pia_path
    from pactline.store import DataRoot

    run_id = world.approved_run.run_id
    status, page = world.approved["page"]
    link = f'href="/pactline/pia/{AGREEMENT}/admissions/{report_folder(world)}"'
    assert status == 200 and link in page and page.index(link) < page.index('name="decision"')
    entries = ledger_entries(run_id)
    requested = next(x for x in entries if x.event == "approval.requested")
    generated = [x for x in entries if x.event == "pia.generated" and x.payload["dataset"] == "admissions"]
    assert generated and generated[0].index < requested.index
    assert generated[0].payload["trigger"] == APPROVE
    assert requested.payload["pia_sha256"] == generated[0].payload["sha256"]
    text = DataRoot().read_bytes(pia_path(AGREEMENT, "admissions", run_id))
    assert hashlib.sha256(text).hexdigest() == generated[-1].payload["sha256"]
    resp = world.client.get(f"/pactline/pia/{AGREEMENT}/admissions/{report_folder(world)}", cookies=world.as_("viewer"))
    assert resp.status_code == 200 and "standard_contractual_clauses" in resp.text and "RECORDED" in resp.text
