"""The steward pages in a real browser against a real Airflow: headless Debian chromium driven by Playwright.

Starts `airflow api-server`, `airflow scheduler` and `airflow dag-processor` (LocalExecutor, SQLite)
on a free loopback port in a temporary AIRFLOW_HOME with this project's dags/ and plugins/, two
SimpleAuthManager users (admin, and viewer without edit permission) and a copy of the example
agreements with generated data (a broken agreement joins at the end). Triggers the readmission DAG, logs in
through Airflow's login form, opens every Pactline page, approves the waiting production release
in the Pactline tab of the DAG run, and watches the publish task succeed. Screenshots go to
test-artifacts/browser/. Every process started here is stopped by its id at the end.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

# the `live` Airflow and `browser` fixtures, chromium() and login() are in conftest, shared with other browser tests
from tests.conftest import REPO, chromium, login, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(570)]

ARTIFACTS = REPO / "test-artifacts" / "browser"
DAG = "readmission-risk"
APPROVE = "admissions.approve_admissions-release"
PUBLISH = "admissions.publish_admissions-release"
BROKEN = """apiVersion: pactline/v1
kind: DataSharingAgreement
metadata:
  id: broken-draft
  version: "0.1"
  title: A draft with mistakes
  effective: 2026-01-01
  expires: 2025-06-30
parties: []
"""


def shot(page: Any, name: str, full: bool = True) -> None:
    page.screenshot(path=str(ARTIFACTS / name), full_page=full)


def test_steward_approves_a_release_in_the_browser(live, browser):
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    af = live
    af.request("PATCH", f"/api/v2/dags/{DAG}", {"is_paused": False})
    run = af.request("POST", f"/api/v2/dags/{DAG}/dagRuns", {"logical_date": None, "conf": {"as_of": "2027-01-01"}})
    run_id = run["dag_run_id"]
    run_page = f"/pactline/runs/{DAG}/{quote(run_id, safe='')}"

    with chromium(browser) as ctx:
        page = ctx.new_page()
        # anonymous: the plugin's routes are protected like Airflow's own
        assert page.goto(af.base + "/pactline/agreements").status == 401
        login(page, af.base, "admin", shot=ARTIFACTS / "01-login.png")

        # Agreements, as a view in Airflow's navigation (the page in Airflow's iframe)
        page.goto(af.base + "/plugin/pactline-agreements")
        frame = page.frame_locator("iframe")
        frame.get_by_role("heading", name="Valid agreements (2)").wait_for()
        assert frame.locator("table.matrix").count() == 2 and frame.get_by_text("expires in").count() >= 2
        shot(page, "02-agreements-in-airflow.png", full=False)

        # the pipeline runs until the production release waits for the steward
        def waiting() -> dict[str, str] | None:
            states = af.task_states(DAG, run_id)
            return states if states.get(APPROVE) == "awaiting_input" or "failed" in states.values() else None

        states = wait_for("the approval step to wait for input", waiting, 300, 3, on_timeout=af.logs)
        assert states[APPROVE] == "awaiting_input" and states[PUBLISH] != "success", states

        # Reviews lists it as waiting; the run's review shows scan, checks, charts, synthetic, Data Docs
        page.goto(af.base + "/pactline/reviews")
        page.get_by_role("heading", name="Waiting for approval").wait_for()
        assert page.get_by_text("Release admissions-release of admissions to atlantic-health?").count() == 1
        shot(page, "03-reviews.png")
        page.get_by_role("link", name="Release admissions-release of admissions to atlantic-health?").click()
        page.get_by_role("heading", name="Dataset admissions").wait_for()
        assert page.locator("svg.chart").count() >= 3
        assert page.get_by_text("Positive rate of readmitted_30d by sex").count() >= 1
        shot(page, "04-review-of-the-run.png")
        docs = page.get_by_role("link", name="GX Data Docs").first.get_attribute("href")
        assert page.request.get(af.base + docs).status == 200
        # the approval form links the privacy impact assessment the approval step wrote before it asked
        pia = page.locator("#approval a", has_text="privacy impact assessment").get_attribute("href")
        page.goto(af.base + pia)
        page.get_by_role("heading", name="Measured privacy risks").wait_for()
        assert page.get_by_text("RECORDED", exact=True).count() == 1  # the stored file is the one in the ledger
        shot(page, "04b-privacy-impact-assessment.png")

        # a viewer may read the review but not decide
        with chromium(browser) as viewer_ctx:
            viewer = viewer_ctx.new_page()
            login(viewer, af.base, "viewer")
            viewer.goto(af.base + run_page)
            viewer.get_by_text("You may read this run but not decide").wait_for()
            assert viewer.locator("button.approve").count() == 0
            shot(viewer, "05-viewer-cannot-decide.png", full=False)

        # the steward approves in the Pactline tab of the DAG run, inside Airflow's UI
        page.goto(f"{af.base}/dags/{DAG}/runs/{quote(run_id, safe='')}/plugin/pactline-run")
        frame = page.frame_locator("iframe")
        frame.get_by_role("heading", name="Release approval").wait_for()
        frame.locator("textarea[name=comment]").fill("Scan, quality, privacy and bias reports reviewed; release.")
        shot(page, "06-approval-form.png", full=False)
        frame.locator("button.approve").click()
        frame.get_by_text("Approved. The release continues").wait_for()
        shot(page, "07-approved.png", full=False)

        # the DAG continues: the approval step resumes and the release is published
        wait_for("the release to be published",
                 lambda: af.task_states(DAG, run_id).get(PUBLISH) in ("success", "failed", "skipped"), 180, 2,
                 on_timeout=af.logs)
        assert af.task_states(DAG, run_id)[PUBLISH] == "success"
        wait_for("the DAG run to finish", lambda: af.request(
            "GET", f"/api/v2/dags/{DAG}/dagRuns/{quote(run_id, safe='')}")["state"] in ("success", "failed"), 120, 2)
        assert af.request("GET", f"/api/v2/dags/{DAG}/dagRuns/{quote(run_id, safe='')}")["state"] == "success"
        page.goto(f"{af.base}/dags/{DAG}/runs/{quote(run_id, safe='')}")
        page.get_by_text("Success", exact=False).first.wait_for()
        shot(page, "08-dag-run-succeeded.png", full=False)

        # retention purges the landing copies: deletion receipts with inclusion proofs in the ledger
        purge = subprocess.run([str(Path(sys.executable).with_name("pactline")), "purge", "--as-of",
                                str(dt.date.today() + dt.timedelta(days=15)), "--agreements", str(af.agreements)],
                               env=af.env, capture_output=True, text=True, timeout=120)
        assert purge.returncode == 0, purge.stdout + purge.stderr

        page.goto(af.base + "/pactline/ledger")
        page.get_by_text("VERIFIED", exact=True).first.wait_for()
        assert page.get_by_text("approval.submitted").count() >= 1 and page.get_by_text("approval.decided").count() >= 1
        assert page.locator("span.badge.pass", has_text="VERIFIES").count() >= 2  # the two landing versions
        shot(page, "09-ledger.png")

        page.goto(af.base + "/pactline/incidents")
        page.get_by_text("policy.undeclared_pii").first.wait_for()
        assert page.get_by_text("to notify").count() >= 1
        shot(page, "10-incidents.png")

        page.goto(af.base + run_page)
        page.get_by_role("heading", name="Decisions and releases in the ledger").wait_for()
        shot(page, "11-review-after-release.png")

        # the agreement: every party's signature, and each release's delivery to its recipient
        page.goto(f"{af.base}/pactline/agreements/{DAG}")
        page.get_by_role("heading", name="Deliveries").wait_for()
        assert page.locator("span.badge.pass", has_text="SIGNED BY ALL").count() == 1
        assert page.get_by_text("admissions-release").count() >= 1 and page.get_by_text("on the exchange").count() >= 1
        shot(page, "12-agreement-signatures-and-deliveries.png")

        # an agreement file with mistakes: listed with every problem located by YAML path and line.
        # (Written last: Airflow 3.3's DAG processor marks every DAG of a file with an import error
        # stale, so while it is there the valid agreements' DAGs cannot be triggered.)
        (af.agreements / "broken-draft.yaml").write_text(BROKEN)
        page.goto(af.base + "/pactline/agreements")
        page.get_by_role("heading", name="Invalid agreements (1)").wait_for()
        assert page.get_by_text("must be after effective").count() >= 1
        assert page.get_by_text("missing required field 'datasets'").count() >= 1
        shot(page, "13-agreements-with-an-invalid-one.png")

    # what the ledger holds: the steward's submission, the step's decision, then the release
    from pactline.ledger import Ledger

    with Ledger.open(f"sqlite:///{af.root / 'pactline' / 'ledger.sqlite'}", create=False) as ledger:
        entries = [x for x in ledger.entries() if (x.payload or {}).get("run_id") == run_id]
    submitted = [x for x in entries if x.event == "approval.submitted"]
    decided = [x for x in entries if x.event == "approval.decided"]
    published = [x for x in entries if x.event == "release.published" and x.payload["output"] == "admissions-release"]
    assert len(submitted) == len(decided) == len(published) == 1
    assert submitted[0].payload["user"] == "admin" and submitted[0].payload["decision"] == "Approve"
    assert decided[0].payload["user"] == "admin" and decided[0].payload["decision"] == "Approve"
    assert decided[0].payload["comment"] == "Scan, quality, privacy and bias reports reviewed; release."
    assert submitted[0].fingerprint == decided[0].fingerprint == published[0].fingerprint
    assert submitted[0].index < decided[0].index < published[0].index
    assert sorted(p.name for p in ARTIFACTS.glob("*.png")) == [
        "01-login.png", "02-agreements-in-airflow.png", "03-reviews.png", "04-review-of-the-run.png",
        "04b-privacy-impact-assessment.png", "05-viewer-cannot-decide.png", "06-approval-form.png", "07-approved.png", "08-dag-run-succeeded.png",
        "09-ledger.png", "10-incidents.png", "11-review-after-release.png",
        "12-agreement-signatures-and-deliveries.png", "13-agreements-with-an-invalid-one.png"]
