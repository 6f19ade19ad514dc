"""GX Data Docs render offline (issue 17): the Bootstrap and jQuery they take from CDNs are served by the plugin from
the files a pinned, installed package ships, each report page is rewritten to use them, and nothing else from
elsewhere is left in it. Checked on the Data Docs a real failed quality gate wrote, through Airflow's API app, then
in Debian's chromium against a live api-server with every request off the machine blocked and recorded."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from pactline.store.layout import safe_run_id
from pactline.ui import data_docs
from tests.conftest import REPO, chromium, failed_gate, login

SHOTS = REPO / "test-artifacts" / "data-docs"
EXTERNAL = re.compile(r"<(?:link|script|img|source|iframe)\b[^>]*?(?:href|src)\s*=\s*[\"'](?:https?:)?//", re.I)
CSS_EXTERNAL = re.compile(r"url\(\s*[\"']?(?:https?:)?//|@import", re.I)


def report_pages(run_id: str, agreement: str = "fraud-detection", dataset: str = "orders") -> list[str]:
    """The plugin URLs of every HTML page of the run's Data Docs (from the default data root)."""
    from pactline.store import DataRoot

    root = DataRoot()
    base = f"{agreement}/reports/{dataset}/{safe_run_id(run_id)}"
    pages = [p for p in root.fs.find(root.path(f"{base}/checks/data_docs")) if p.endswith(".html")]
    prefix = root.path(base) + "/"
    return [f"/pactline/reports/{agreement}/{dataset}/{safe_run_id(run_id)}/"
            + "/".join(quote(s, safe="") for s in p[len(prefix):].split("/")) for p in sorted(pages)]


def test_rewrite_serves_cdn_assets_locally_and_drops_the_rest():
    page = ('<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>'
            '<script src="https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js" '
            'integrity="sha384-x" crossorigin="anonymous"></script>'
            '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>'
            "<script src='https://cdn.jsdelivr.net/npm/vega@5'></script>"
            '<link rel="stylesheet" href="//cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css">'
            "<style>.x{background:url('https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
            "full_logo_dark.png')} .y{background:url(https://elsewhere.example/a.png)}</style>"
            '<img src="https://tracker.example/p.gif"><a href="https://greatexpectations.io">GX</a>'
            '<img src="../static/images/favicon.ico">')
    out = data_docs.rewrite(page, lambda name: f"/p/{name}")
    assert out == ('<link rel="stylesheet" href="/p/bootstrap.min.css"/>'
                   f"<style>{data_docs.BOOTSTRAP4_COMPAT}</style>"
                   '<script src="/p/jquery.min.js"></script>'
                   "<style>.x{background:url('/p/ge-logo-long.png')} .y{background:none}</style>"
                   '<a href="https://greatexpectations.io">GX</a><img src="../static/images/favicon.ico">')
    for name in data_docs.ASSETS:  # every local copy is in an installed package
        content, media = data_docs.asset(name)
        assert len(content) > 1000 and media
    assert data_docs.asset("../../etc/passwd") is None


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_data_docs_of_a_failed_gate_reference_nothing_elsewhere(workspace, airflow_home, monkeypatch):
    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    monkeypatch.setenv("PACTLINE_AGREEMENTS", str(workspace / "agreements"))
    failed_gate(workspace, "manual__docs", "barter")
    pages = report_pages("manual__docs")
    assert len(pages) >= 3  # the site's index, the suite, the validation result
    client = TestClient(create_app())
    viewer = {"_token": get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="viewer", role="viewer"))}
    assets: set[str] = set()
    for url in pages:
        resp = client.get(url, cookies=viewer)
        assert resp.status_code == 200 and "sandbox" in resp.headers["content-security-policy"]
        assert not EXTERNAL.search(resp.text) and not CSS_EXTERNAL.search(resp.text), url
        assets |= set(re.findall(r"/pactline/static/data-docs/([a-z.-]+)", resp.text))
    assert {"bootstrap.min.css", "jquery.min.js", "bootstrap.bundle.min.js"} <= assets
    for name in assets:
        resp = client.get(f"/pactline/static/data-docs/{name}", cookies=viewer)
        assert resp.status_code == 200 and resp.content == data_docs.asset(name)[0]
    assert client.get("/pactline/static/data-docs/bootstrap.min.css").status_code == 401  # behind Airflow's auth
    assert client.get("/pactline/static/data-docs/flower.js", cookies=viewer).status_code == 404


def test_data_docs_render_styled_with_the_network_off(live_home, browser):
    af = live_home
    failed_gate(af.root / "ws", "manual__offline", "barter")
    [validation] = [u for u in report_pages("manual__offline") if "/validations/" in u]
    local = urlsplit(af.base).netloc
    requests: list[str] = []
    blocked: list[str] = []
    answers: list[tuple[str, int]] = []

    def only_this_machine(route: Any) -> None:
        if urlsplit(route.request.url).netloc == local:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    with chromium(browser) as ctx:
        ctx.route("**/*", only_this_machine)
        page = ctx.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.on("response", lambda r: answers.append((r.url, r.status)))
        login(page, af.base, "viewer")
        page.goto(af.base + validation)
        page.wait_for_load_state("load")
        page.get_by_text("Overview").first.wait_for()
        style = page.evaluate("""() => {
            const card = document.querySelector('.card');
            const s = getComputedStyle(card);
            const badge = getComputedStyle(document.querySelector('.badge-secondary'));
            const icon = getComputedStyle(document.querySelector('.fa-check-circle'), '::before');
            return {radius: s.borderTopLeftRadius, border: s.borderTopStyle, badge: badge.backgroundColor,
                    icon: icon.content,
                    sheets: [...document.styleSheets].map(x => x.href).filter(Boolean)};
        }""")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "data-docs-offline.png"), full_page=True)
    assert blocked == [] and all(urlsplit(u).netloc == local for u in requests if u.startswith("http")), blocked
    assert any(h.endswith("/pactline/static/data-docs/bootstrap.min.css") for h in style["sheets"]), style
    assert [s for u, s in answers if u.endswith("/static/data-docs/bootstrap.min.css")] == [200], answers
    assert style["border"] == "solid" and style["radius"] not in ("", "0px"), style  # Bootstrap's card styles
    assert style["badge"] == "rgb(108, 117, 125)" and style["icon"] == '"\u2714"', style  # GX's Bootstrap 4 classes
