"""Incident notifications (issue 17): a real failed quality gate opens an incident in the ledger; `pactline incidents
notify|escalate` mail every contact through Airflow's SmtpNotifier over an Airflow SMTP connection pointing at a
local SMTP sink on loopback (aiosmtpd); escalation is driven by `--as-of`; the steward's acknowledgement is posted
to the Incidents page through Airflow's API app, behind the approval form's CSRF and permission checks."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import failed_gate, free_port

SECRET = "Zz-SECRET-Zz"  # planted in the partner's data: no notice may carry it


class Sink:
    """An SMTP server's handler keeping every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Any]] = []
        self.connection = ""  # the Airflow SMTP connection (JSON) pointing at it

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"

    def take(self) -> list[tuple[list[str], str, str]]:
        """(recipients, subject, body text) of the messages received since the last take."""
        out = [(to, str(m["subject"]), next(p.get_content() for p in m.walk() if p.get_content_type() == "text/html"))
               for to, m in self.messages]
        self.messages.clear()
        return out


def smtp_connection(port: int) -> str:
    return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port, "extra": {
        "disable_ssl": True, "disable_tls": True, "from_email": "pactline@nordbank.example", "retry_limit": 0,
        "timeout": 10}})


@pytest.fixture
def mailbox(monkeypatch) -> Iterator[Sink]:
    from aiosmtpd.controller import Controller

    sink = Sink()
    quiet = logging.getLogger("mail.log")  # aiosmtpd logs every SMTP line, also after pytest closed its stream
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink.connection = smtp_connection(controller.port)
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", sink.connection)
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://airflow.nordbank.example:8080")
    try:
        yield sink
    finally:
        controller.stop()
        quiet.setLevel(level)


def incidents(workspace, *args: str) -> int:
    from pactline.cli.main import main

    return main(["incidents", *args, "--agreements", str(workspace / "agreements")])


def at(opened: Any, hours: float) -> str:
    start = dt.datetime.fromisoformat(opened.payload["opened_at"])
    return (start + dt.timedelta(hours=hours)).isoformat()


def entries(event: str) -> list[Any]:
    from pactline.recording import open_ledger

    return list(open_ledger().entries(event=event))


CONTACTS = ["privacy@nordbank.example", "dpo@shopco.example"]  # the fraud agreement's incident_response


def test_incidents_are_notified_and_escalated_by_mail(workspace, mailbox, capsys):
    from pactline.incidents.acknowledge import acknowledge
    from pactline.recording import open_ledger

    first = failed_gate(workspace, "manual__first", SECRET)
    second = failed_gate(workspace, "manual__second", SECRET)
    hours = 48  # fraud.yaml: incident_response.notification_deadline_hours

    # every incident notifies every contact once: clause, dataset, deadline, a link; no value from the data
    assert incidents(workspace, "notify", "--as-of", at(first, 0.1)) == 0
    mails = mailbox.take()
    assert len(mails) == 2
    for (to, subject, body), opened in zip(mails, (first, second), strict=True):
        assert sorted(to) == sorted(CONTACTS)
        assert subject == (f"[Pactline] incident #{opened.index} (gate.quality) in fraud-detection / orders: notify by "
                           f"{dt.datetime.fromisoformat(opened.payload['notify_by']):%Y-%m-%d %H:%M} UTC")
        assert "Clause:    quality_rules" in body and "Dataset:   orders" in body
        assert f"notify within {hours} h (incident_response.notification_deadline_hours)" in body
        assert f"http://airflow.nordbank.example:8080/pactline/incidents#incident-{opened.index}" in body
        assert SECRET not in subject + body and opened.payload["summary"] not in body
    assert incidents(workspace, "notify", "--as-of", at(first, 1)) == 0  # sent once
    assert mailbox.take() == [] and "nothing to notify" in capsys.readouterr().out

    # the second is acknowledged by a steward; the first is not
    ack, written = acknowledge(open_ledger(), "fraud-detection", second.index, user="steward", user_id="steward",
                               actor="test", via="test")
    assert written and ack.payload["incident_index"] == second.index

    # before half the deadline: nothing; at half: one escalation of the unacknowledged one, once
    assert incidents(workspace, "escalate", "--as-of", at(first, hours / 2 - 0.5)) == 0
    assert mailbox.take() == []
    assert incidents(workspace, "escalate", "--as-of", at(first, hours / 2 + 0.1)) == 0
    [(to, subject, body)] = mailbox.take()
    assert sorted(to) == sorted(CONTACTS) and subject.startswith(f"[Pactline] ESCALATION: incident #{first.index} ")
    assert "half of the notification deadline has passed and nobody has acknowledged it" in body
    assert incidents(workspace, "escalate", "--as-of", at(first, hours / 2 + 1)) == 0
    assert mailbox.take() == []

    # past the deadline: once more, once
    assert incidents(workspace, "escalate", "--as-of", at(first, hours + 0.1)) == 0
    [(to, subject, body)] = mailbox.take()
    assert sorted(to) == sorted(CONTACTS) and "the notification deadline has passed" in body
    assert incidents(workspace, "escalate", "--as-of", at(first, hours + 24)) == 0
    assert mailbox.take() == []

    # every notice is in the ledger, naming its incident; the acknowledged one was never escalated
    notified, escalated = entries("incident.notified"), entries("incident.escalated")
    assert sorted(x.payload["incident_index"] for x in notified) == [first.index, second.index]
    assert [(x.payload["incident_index"], x.payload["stage"]) for x in escalated] == [
        (first.index, "half_deadline"), (first.index, "deadline_passed")]
    for x in notified + escalated:
        assert x.agreement_id == "fraud-detection" and x.payload["channels"] == ["email"]
        assert x.payload["clause"] == "quality_rules" and sorted(x.payload["recipients"]) == sorted(CONTACTS)
        assert SECRET not in json.dumps(x.payload)


def test_a_late_check_sends_only_the_latest_stage_and_a_failed_send_is_retried(workspace, mailbox, monkeypatch,
                                                                               capsys):
    opened = failed_gate(workspace, "manual__late", SECRET)
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_connection(free_port()))  # nothing listens there
    assert incidents(workspace, "notify", "--as-of", at(opened, 100)) == 1
    assert "NOT SENT" in capsys.readouterr().out and entries("incident.notified") == []
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", mailbox.connection)
    assert incidents(workspace, "notify", "--as-of", at(opened, 100)) == 0
    assert incidents(workspace, "escalate", "--as-of", at(opened, 100)) == 0
    mails = mailbox.take()
    assert len(mails) == 2 and "the notification deadline has passed" in mails[1][2]
    assert [x.payload["stage"] for x in entries("incident.escalated")] == ["deadline_passed"]
    assert incidents(workspace, "escalate", "--as-of", at(opened, 200)) == 0 and mailbox.take() == []


@pytest.fixture
def slack_api(monkeypatch) -> Iterator[list[dict[str, Any]]]:
    """A Slack Web API stand-in on loopback (chat.postMessage answers ok), named by an Airflow Slack connection."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    posted: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            posted.append({"path": self.path, "auth": self.headers["Authorization"], **json.loads(body)})
            answer = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_API_DEFAULT", json.dumps({
        "conn_type": "slack", "password": "xoxb-test-token",
        "extra": {"base_url": f"http://127.0.0.1:{server.server_address[1]}/api/"}}))
    try:
        yield posted
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_slack_gets_the_notice_where_its_connection_exists(workspace, mailbox, slack_api):
    opened = failed_gate(workspace, "manual__slack", SECRET)
    assert incidents(workspace, "notify", "--as-of", at(opened, 0.1), "--slack-channel", "#dpo") == 0
    [(to, subject, _)] = mailbox.take()
    assert sorted(to) == sorted(CONTACTS)
    [post] = slack_api
    assert post["path"] == "/api/chat.postMessage" and post["auth"] == "Bearer xoxb-test-token"
    assert post["channel"] == "#dpo" and post["text"].startswith(subject + "\n")
    assert "Clause:    quality_rules" in post["text"] and f"#incident-{opened.index}" in post["text"]
    assert SECRET not in post["text"]
    [notified] = entries("incident.notified")
    assert notified.payload["channels"] == ["email", "slack"]


def test_bad_as_of_exits_2(workspace, capsys):
    with pytest.raises(SystemExit) as info:
        incidents(workspace, "escalate", "--as-of", "next tuesday")
    assert info.value.code == 2 and "is not a date" in capsys.readouterr().err


# -- the acknowledgement on the Incidents page, through Airflow's own API app ---------------------------------------

def form_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', html))


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_a_steward_acknowledges_an_incident_on_the_page(workspace, airflow_home, monkeypatch):
    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    from pactline.pia.measured import open_incidents
    from pactline.recording import open_ledger

    monkeypatch.setenv("PACTLINE_AGREEMENTS", str(workspace / "agreements"))
    opened = failed_gate(workspace, "manual__ack", SECRET)
    client = TestClient(create_app())
    tokens = {who: get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=who, role=role))
              for who, role in (("admin", "admin"), ("steward2", "admin"), ("viewer", "viewer"))}

    def get(who: str) -> Any:
        client.cookies.clear()
        return client.get("/pactline/incidents", cookies={"_token": tokens[who]})

    assert "Acknowledging needs edit permission" in get("viewer").text and "<form" not in get("viewer").text
    page = get("admin")
    fields, cookie = form_fields(page.text), page.cookies.get("pactline_csrf")
    assert fields["incident"] == str(opened.index) and cookie and 'http-equiv="refresh"' not in page.text
    action = "/pactline/incidents/fraud-detection/acknowledge"
    form = {**fields, "comment": "Bad pay_method at the source; <b>partner</b> informed."}
    admin = {"_token": tokens["admin"], "pactline_csrf": cookie}

    def post(data: dict[str, str], cookies: dict[str, str], url: str = action, **headers: str) -> Any:
        client.cookies.clear()
        return client.post(url, data=data, cookies=cookies, headers=headers, follow_redirects=False)

    assert post(form, {}).status_code == 401
    assert post(form, {"_token": tokens["viewer"], "pactline_csrf": cookie}).status_code == 403
    assert post(form, {"_token": tokens["admin"]}).status_code == 403  # no cookie
    assert post({k: v for k, v in form.items() if k != "csrf_token"}, admin).status_code == 403
    assert post(form, {"_token": tokens["steward2"], "pactline_csrf": cookie}).status_code == 403  # not their token
    assert post(form, admin, origin="https://evil.example").status_code == 403
    assert post({**form, "incident": str(opened.index - 1)}, admin).status_code == 404  # not an incident
    assert post(form, admin, url="/pactline/incidents/readmission-risk/acknowledge").status_code == 404
    assert entries("incident.acknowledged") == []

    done = post(form, admin)
    assert done.status_code == 303
    assert done.headers["location"] == f"/pactline/incidents?acknowledged={opened.index}#incident-{opened.index}"
    assert post(form, admin).status_code == 303  # again: acknowledged once
    [ack] = entries("incident.acknowledged")
    assert ack.agreement_id == "fraud-detection" and ack.actor == "airflow-ui:admin"
    assert ack.payload["incident_index"] == opened.index and ack.payload["user"] == "admin"
    assert ack.payload["comment"] == form["comment"]
    assert open_incidents(open_ledger().entries()) == []  # the assessment no longer lists it as open

    client.cookies.clear()
    after = client.get(done.headers["location"], cookies={"_token": tokens["admin"]}).text
    assert "acknowledged: its escalations stop" in after and "ACKNOWLEDGED" in after and "<form" not in after
    assert "&lt;b&gt;partner&lt;/b&gt; informed" in after


@pytest.mark.slow
def test_the_scheduled_check_sends_what_is_due(workspace, mailbox, airflow_home, monkeypatch):
    """The pactline_incidents DAG through real Airflow (dag.test on SQLite), its clock the `as_of` param."""
    import importlib.util

    from tests.conftest import REPO

    monkeypatch.setenv("PACTLINE_AGREEMENTS", str(workspace / "agreements"))
    opened = failed_gate(workspace, "manual__dag", SECRET)
    spec = importlib.util.spec_from_file_location("pactline_incidents_dag", REPO / "dags" / "pactline_incidents.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run = module.incidents_dag.test(run_conf={"as_of": at(opened, 30)})
    assert str(getattr(run.state, "value", run.state)) == "success"
    mails = mailbox.take()  # the first notice and, 30 h into 48, the escalation at half the deadline
    assert [m[1].startswith("[Pactline] ESCALATION") for m in mails] == [False, True]
    assert all(sorted(m[0]) == sorted(CONTACTS) for m in mails)
    assert [x.actor for x in entries("incident.notified") + entries("incident.escalated")] == [
        "airflow:pactline_incidents"] * 2
    run = module.incidents_dag.test(run_conf={"as_of": at(opened, 31)})
    assert str(getattr(run.state, "value", run.state)) == "success" and mailbox.take() == []
