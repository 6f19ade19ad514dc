"""The Acknowledge button of the Incidents page in a real browser against a live Airflow (issue 17): a failed quality
gate opens an incident; a viewer sees it without the button; the admin acknowledges it inside Airflow's UI; the
acknowledgement is in the ledger, naming the incident. Screenshots go to test-artifacts/incidents/."""

from __future__ import annotations

from pactline.recording import open_ledger
from tests.conftest import REPO, chromium, failed_gate, login

SHOTS = REPO / "test-artifacts" / "incidents"


def test_a_steward_acknowledges_an_incident_in_the_browser(live_home, browser):
    af = live_home
    opened = failed_gate(af.root / "ws", "manual__browser_ack", "barter")
    card = f"#incident-{opened.index}"
    SHOTS.mkdir(parents=True, exist_ok=True)

    with chromium(browser) as ctx:  # a viewer may read the incident but not acknowledge it
        page = ctx.new_page()
        login(page, af.base, "viewer")
        page.goto(af.base + "/pactline/incidents")
        page.locator(card).get_by_text("Acknowledging needs edit permission").wait_for()
        assert page.locator(f"{card} button").count() == 0

    with chromium(browser) as ctx:  # the steward acknowledges it in the Incidents view inside Airflow's UI
        page = ctx.new_page()
        login(page, af.base, "admin")
        page.goto(af.base + "/plugin/pactline-incidents")
        frame = page.frame_locator("iframe")
        frame.locator(card).get_by_text("not yet: until it is, every contact is reminded").wait_for()
        frame.locator(f"{card} textarea[name=comment]").fill("Source fixed; partner's DPO informed.")
        page.screenshot(path=str(SHOTS / "01-acknowledge-form.png"), full_page=True)
        frame.locator(card).get_by_role("button", name=f"Acknowledge incident #{opened.index}").click()
        frame.get_by_text(f"Incident #{opened.index} acknowledged: its escalations stop").wait_for()
        frame.locator(card).get_by_text("ACKNOWLEDGED", exact=True).wait_for()
        assert frame.locator(f"{card} form").count() == 0
        page.screenshot(path=str(SHOTS / "02-acknowledged.png"), full_page=True)

    [ack] = [x for x in open_ledger().entries(event="incident.acknowledged")
             if x.payload["incident_index"] == opened.index]
    assert ack.payload["user"] == "admin" and ack.payload["via"] == "pactline-ui"
    assert ack.payload["comment"] == "Source fixed; partner's DPO informed." and ack.actor == "airflow-ui:admin"
