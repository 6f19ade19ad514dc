"""The Pactline steward pages: a FastAPI app mounted by the Pactline plugin under /pactline.

Thin on purpose: each route checks who may see or do what with Airflow's own security
dependencies, gathers Airflow's state (human-in-the-loop requests), and renders with pactline.ui.
Airflow does not protect plugin routes by itself, so every route here depends on one of:

- requires_access_dag("GET")              reading (the DAG in the path, or DAGs in general for lists);
- requires_access_dag("PUT") (+ HITL)      deciding a release: edit permission on the agreement's DAG.

Anonymous requests get 401, users without the permission 403. The decision form is protected by a
signed double-submit token tied to the user (pactline.ui.csrf) and an Origin check. Pages are plain
server-rendered HTML (no JavaScript) with a strict Content-Security-Policy.

The routes are module-level functions on one APIRouter (`router`); build_app() creates the FastAPI app and
includes it. Where the agreements, secrets, data root and ledger are comes from operators.airflow_env, as for
the operators and the DAG files.

Loaded by plugins/pactline_plugin.py on the first request (not by Airflow's plugin loader; see
.airflowignore), so schedulers and workers never import FastAPI for it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import mimetypes
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import AccessView, DagAccessEntity, DagDetails
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from operators.airflow_env import agreements_folder, data_root, keystore, ledger
from pactline.comments import clean_comment
from pactline.pia.build import build_assessment
from pactline.pia.evidence import load_evidence
from pactline.pia.generate import pia_path, stored_pia
from pactline.store.layout import safe_run_id
from pactline.ui import agreements as ui_agreements
from pactline.ui import approvals as ui_approvals
from pactline.ui import consent as ui_consent
from pactline.ui import csrf, data_docs
from pactline.ui import evaluations as ui_evaluations
from pactline.ui import incidents as ui_incidents
from pactline.ui import ledger_view as ui_ledger
from pactline.ui import pia as ui_pia
from pactline.ui import reviews as ui_reviews
from pactline.ui.html import Html, error_page, notice, page, section, url

log = logging.getLogger(__name__)

APPROVAL_OPERATORS = ("PactlineApprovalOperator",)
MAX_FORM_BYTES = 64 * 1024
_ID = re.compile(r"^[a-z][a-z0-9_-]{0,62}\Z")
_RUN_FOLDER = re.compile(r"^[A-Za-z0-9_.-]{1,250}\Z")
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'self'; base-uri 'none'")
# Reports written by GX: shown as they are, but with no script and nothing fetched from elsewhere. The sandbox keeps
# the report's own origin (allow-same-origin; safe with no script allowed to run) so that 'self' matches and the
# Data Docs' stylesheets load from the plugin with the user's session (issue 17).
REPORT_CSP = ("sandbox allow-popups allow-same-origin; default-src 'none'; style-src 'self' 'unsafe-inline'; "
              "img-src 'self' data:; font-src 'self'; frame-ancestors 'self'; base-uri 'none'")
DATA_DOCS_ASSETS = "/static/data-docs"  # where the Data Docs' CDN assets are served from (pactline.ui.data_docs)
DECIDED_NOTICES = {"Approve": "Approved. The release continues; the decision is in the ledger.",
                   "Reject": "Rejected. The release is stopped; the decision is in the ledger."}

READ = [Depends(requires_access_dag("GET"))]
DECIDE = [Depends(requires_access_dag("PUT")),
          Depends(requires_access_dag("PUT", access_entity=DagAccessEntity.HITL_DETAIL))]


# -- permissions -----------------------------------------------------------------------------------

def readable(user: Any, dag_ids: set[str]) -> set[str]:
    return get_auth_manager().filter_authorized_dag_ids(dag_ids=set(dag_ids), user=user, method="GET")


def may_decide(user: Any, dag_id: str) -> bool:
    from airflow.models.dag import DagModel

    details = DagDetails(id=dag_id, team_name=DagModel.get_team_name(dag_id))
    am = get_auth_manager()
    return am.is_authorized_dag(method="PUT", details=details, user=user) and am.is_authorized_dag(
        method="PUT", access_entity=DagAccessEntity.HITL_DETAIL, details=details, user=user)


def may_see_import_errors(user: Any) -> bool:
    return get_auth_manager().is_authorized_view(access_view=AccessView.IMPORT_ERRORS, user=user)


# -- Airflow's human-in-the-loop records ---------------------------------------------------------------

def approvals(dag_ids: set[str], run_id: str | None = None) -> list[ui_approvals.Approval]:
    """Pactline approval steps of these DAGs (optionally one run), waiting or decided."""
    if not dag_ids:
        return []
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session
    from sqlalchemy import select

    query = (select(HITLDetail.subject, HITLDetail.body, HITLDetail.options, HITLDetail.created_at,
                    HITLDetail.responded_at, HITLDetail.responded_by, HITLDetail.chosen_options,
                    HITLDetail.params_input, TI.dag_id, TI.run_id, TI.task_id, TI.map_index, TI.state)
             .select_from(HITLDetail).join(TI, HITLDetail.ti_id == TI.id)
             .where(TI.dag_id.in_(sorted(dag_ids)), TI.operator.in_(APPROVAL_OPERATORS))
             .order_by(HITLDetail.created_at.desc()))
    if run_id is not None:
        query = query.where(TI.run_id == run_id)
    with create_session(scoped=False) as session:
        rows = session.execute(query).all()
    return [ui_approvals.Approval(
        dag_id=r.dag_id, run_id=r.run_id, task_id=r.task_id, map_index=r.map_index, subject=r.subject, body=r.body,
        options=list(r.options or []), created_at=r.created_at, state=str(r.state.value if hasattr(r.state, "value")
                                                                            else r.state),
        responded_at=r.responded_at, responded_by=(r.responded_by or {}).get("name"),
        chosen=list(r.chosen_options or []), params_input=dict(r.params_input or {})) for r in rows]


def is_approval_task(dag_id: str, run_id: str, task_id: str, map_index: int) -> bool:
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session(scoped=False) as session:
        operator = session.scalar(select(TI.operator).where(
            TI.dag_id == dag_id, TI.run_id == run_id, TI.task_id == task_id, TI.map_index == map_index))
    return operator in APPROVAL_OPERATORS


def run_fingerprint(dag_id: str, run_id: str, task_id: str) -> str | None:
    """The fingerprint the approval step obeyed (its approval.requested entry), else the agreement's now."""
    found = ui_approvals.requested_fingerprint(ledger(), dag_id, run_id, task_id)
    if found:
        return found
    loaded = ui_agreements.load_folder(agreements_folder()).get(dag_id)
    return loaded.fingerprint if loaded else None


# -- responses ---------------------------------------------------------------------------------------

def base_of(request: Request) -> str:
    return str(request.scope.get("root_path") or "").rstrip("/")


def html(content: str, status_code: int = 200) -> HTMLResponse:
    resp = HTMLResponse(content, status_code=status_code)
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"
    resp.headers["Cache-Control"] = "no-store"
    return resp


def user_name(user: Any) -> str:
    return str(user.get_name() or user.get_id())


def csrf_secret() -> bytes:
    from airflow.configuration import conf

    return csrf.derive_secret(conf.get("api", "secret_key", fallback="") or conf.get("api_auth", "jwt_secret"))


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def not_found(request: Request, user: Any, what: str) -> HTMLResponse:
    return html(error_page("Not found", what, base=base_of(request), user=user_name(user)), 404)


# -- the routes (every one depends on READ or DECIDE: Airflow does not protect plugin routes by itself) ---------

router = APIRouter()


@router.get("/", dependencies=READ)
def home(request: Request) -> RedirectResponse:
    return RedirectResponse(f"{base_of(request)}/agreements", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/agreements", dependencies=READ)
def agreements_page(request: Request, user: GetUserDep) -> HTMLResponse:
    found = ui_agreements.load_folder(agreements_folder())
    allowed = readable(user, set(found.valid))
    shown = ui_agreements.AgreementSet({k: v for k, v in found.valid.items() if k in allowed}, found.invalid)
    consents = {k: ui_consent.consent_of(v) for k, v in shown.valid.items()}
    body = ui_agreements.render_agreements(shown, now().date(), base=base_of(request),
                                           show_invalid=may_see_import_errors(user), consents=consents)
    return html(page("Agreements", body, base=base_of(request), active="agreements", user=user_name(user)))


@router.get("/agreements/{dag_id}", dependencies=READ)
def agreement_page(request: Request, dag_id: str, user: GetUserDep) -> HTMLResponse:
    loaded = ui_agreements.load_folder(agreements_folder()).get(dag_id)
    if loaded is None:
        return not_found(request, user, f"{dag_id} is not the DAG of a valid agreement.")
    from pactline.delivery.attest import deliveries, delivery_events, texts_made_under

    catalog = data_root().vault.catalog
    releases = catalog.versions(loaded.id)
    shipped = deliveries(loaded, releases, delivery_events(ledger(), loaded.id), now().date(),
                         texts_made_under(loaded, releases, catalog))
    from pactline.evaluation.history import model_versions

    models = ui_evaluations.render_model_versions(loaded, model_versions(ledger(), loaded.id), base=base_of(request))
    body = ui_agreements.render_agreement(loaded, now().date(), base=base_of(request),
                                          consent=ui_consent.consent_of(loaded), delivered=shipped, models=models)
    return html(page(f"Agreement {loaded.id}", body, base=base_of(request), active="agreements",
                     user=user_name(user)))


@router.get("/reviews", dependencies=READ)
def reviews_page(request: Request, user: GetUserDep, agreement: str | None = None) -> HTMLResponse:
    base = base_of(request)
    found = ui_agreements.load_folder(agreements_folder())
    ids = readable(user, set(found.valid))
    if agreement:
        ids &= {agreement}
    root = data_root()
    runs = {i: ui_reviews.list_runs(root, i) for i in sorted(ids)}
    waiting = approvals(ids)
    pending: dict[tuple[str, str], int] = {}
    for x in waiting:
        if x.pending:
            pending[(x.dag_id, x.run_id)] = pending.get((x.dag_id, x.run_id), 0) + 1
    body = Html(section("Waiting for approval", ui_approvals.render_waiting_list(waiting, base=base), id_="waiting")
                + section("Runs and their reports", ui_reviews.render_index(runs, base=base, pending=pending)))
    return html(page("Reviews", body, base=base, active="reviews", user=user_name(user)))


@router.get("/runs/{dag_id}/{run_id:path}", dependencies=READ)
def run_page(request: Request, dag_id: str, run_id: str, user: GetUserDep,
             decided: str | None = None) -> HTMLResponse:
    base = base_of(request)
    loaded = ui_agreements.load_folder(agreements_folder()).get(dag_id)
    if loaded is None:
        return not_found(request, user, f"{dag_id} is not the DAG of a valid agreement.")
    root = data_root()
    review = ui_reviews.load_run(root, dag_id, run_id)
    steps = approvals({dag_id}, review.run_id if review else run_id)
    if review is None and not steps:
        return not_found(request, user, f"No reports of run {run_id} of {dag_id} (yet).")
    can = may_decide(user, dag_id)
    token = None
    cookie_token = request.cookies.get(csrf.COOKIE)
    if can and any(s.pending for s in steps):
        uid = str(user.get_id())
        token = cookie_token if csrf.valid_for(csrf_secret(), uid, cookie_token) else csrf.issue(csrf_secret(), uid)
    real_run = review.run_id if review else run_id
    pending_task = next((s.task_id for s in steps if s.pending), None)
    if pending_task:  # what the waiting step obeys, and what the form asks the steward to approve
        fingerprint = run_fingerprint(dag_id, real_run, pending_task)
    else:  # what the run obeyed, from its reports
        fingerprint = (review.fingerprint if review else None) or loaded.fingerprint
    panel = ui_approvals.render_panel(steps, can_decide=can, action=f"{base}/approvals/{url(dag_id)}",
                                      csrf_token=token, fingerprint=fingerprint,
                                      pia_url=lambda x: pia_url(base, dag_id, x.dataset, x.run_id))
    if decided in DECIDED_NOTICES:  # shown where the #approval anchor lands
        panel = Html(notice(DECIDED_NOTICES[decided], "ok") + panel)
    history = ui_approvals.render_ledger_rows(ledger(), dag_id, real_run, base=base)
    if review is None:
        review = ui_reviews.RunReview(dag_id, run_id, run_id)
    models = ui_evaluations.render_run_models(run_evaluations(loaded, real_run), base=base, agreement_id=dag_id)
    body = ui_reviews.render_run(review, fingerprint=fingerprint, approvals=panel, ledger_rows=history, models=models,
                                 on_undeclared=loaded.agreement.privacy.on_undeclared_pii,
                                 pia_url=lambda ds, run: pia_url(base, dag_id, ds, run),
                                 report_url=lambda ag, ds, run, path: f"{base}/reports/{url(ag, ds, run)}/"
                                                                      + "/".join(url(p) for p in path.split("/")))
    resp = html(page(f"Review of {dag_id}", body, base=base, active="reviews", user=user_name(user)))
    if token and token != cookie_token:
        resp.set_cookie(csrf.COOKIE, token, max_age=csrf.MAX_AGE, path=base or "/", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    return resp


def pia_url(base: str, dag_id: str, dataset: str, run: str) -> str:
    """The privacy impact assessment page of one run (its id or folder name) of one dataset."""
    return f"{base}/pia/{url(dag_id, dataset, safe_run_id(run))}"


def pia_evidence(dag_id: str, dataset: str, run: str) -> tuple[Any, Any] | None:
    """(agreement, the run's evidence) for a readable agreement, dataset and run folder; None if there is none."""
    folder = safe_run_id(run)
    if not (_ID.match(dag_id) and _ID.match(dataset) and _RUN_FOLDER.match(folder) and not folder.startswith(".")):
        return None
    loaded = ui_agreements.load_folder(agreements_folder()).get(dag_id)
    if loaded is None or dataset not in {d.id for d in loaded.agreement.datasets}:
        return None
    evidence = load_evidence(data_root(), dag_id, dataset, folder, ledger().entries(agreement_id=dag_id))
    return (loaded, evidence) if evidence.found else None


@router.get("/pia/{dag_id}/{dataset}/{run}", dependencies=READ)
def pia_page(request: Request, dag_id: str, dataset: str, run: str, user: GetUserDep) -> HTMLResponse:
    base = base_of(request)
    found = pia_evidence(dag_id, dataset, run)
    if found is None:
        return not_found(request, user, f"No run {run} of dataset {dataset} of {dag_id} to assess.")
    loaded, evidence = found
    assessment = build_assessment(loaded, dataset, evidence)
    stored = stored_pia(data_root(), dag_id, dataset, evidence.run_folder, evidence.entries)
    run_fingerprint = next((str(r["fingerprint"]) for r in evidence.results.values() if r.get("fingerprint")), None)
    body = ui_pia.render_pia(assessment, stored, run_fingerprint=run_fingerprint,
                             markdown_url=f"{pia_url(base, dag_id, dataset, evidence.run_folder)}/markdown",
                             review_url=f"{base}/runs/{url(dag_id, evidence.run_id or evidence.run_folder)}")
    return html(page(f"Privacy impact assessment of {dag_id} / {dataset}", body, base=base, active="reviews",
                     user=user_name(user)))


@router.get("/pia/{dag_id}/{dataset}/{run}/markdown", dependencies=READ)
def pia_markdown(request: Request, dag_id: str, dataset: str, run: str, user: GetUserDep) -> Response:
    """The stored Markdown as written (decrypted), the file whose sha256 the ledger holds."""
    found = pia_evidence(dag_id, dataset, run)
    rel = pia_path(dag_id, dataset, run)
    root = data_root()
    try:
        content = root.read_bytes(rel) if found is not None and root.exists(rel) else None
    except Exception as err:
        log.warning("Pactline: cannot read %s: %s", rel, err)
        content = None
    if content is None:
        return not_found(request, user, "No stored assessment for this run.")
    resp = Response(content, media_type="text/markdown; charset=utf-8")
    resp.headers["Content-Disposition"] = f'attachment; filename="pia-{dag_id}-{dataset}.md"'
    resp.headers["Content-Security-Policy"] = REPORT_CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "no-store"
    return resp


@router.get("/reports/{dag_id}/{dataset}/{run}/{path:path}", dependencies=READ)
def report_file(request: Request, dag_id: str, dataset: str, run: str, path: str, user: GetUserDep) -> Response:
    if not (_ID.match(dag_id) and _ID.match(dataset) and _RUN_FOLDER.match(run) and not run.startswith(".")
            and ui_reviews.report_path_ok(path)):
        return not_found(request, user, "No such report.")
    rel = f"{dag_id}/reports/{dataset}/{run}/{path}"
    root = data_root()
    try:
        if not root.exists(rel) or root.fs.isdir(root.path(rel)):
            return not_found(request, user, "No such report.")
        content = root.read_bytes(rel)
    except Exception as err:
        log.warning("Pactline: cannot read report %s: %s", rel, err)
        return not_found(request, user, "This report cannot be read.")
    media = mimetypes.guess_type(path)[0] or "application/octet-stream"
    if data_docs.is_report_page(path):  # GX Data Docs: their CDN assets served here, nothing from elsewhere
        content = data_docs.rewrite(content.decode("utf-8", "replace"),
                                    lambda name: f"{base_of(request)}{DATA_DOCS_ASSETS}/{name}").encode("utf-8")
    resp = Response(content, media_type=media)
    resp.headers["Content-Security-Policy"] = REPORT_CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "no-store"
    return resp


@router.get(DATA_DOCS_ASSETS + "/{name}", dependencies=READ)
def data_docs_asset(request: Request, name: str, user: GetUserDep) -> Response:
    """Bootstrap, jQuery and GX's logo for Data Docs, from the installed packages' own files (pactline.ui.data_docs)."""
    found = data_docs.asset(name)
    if found is None:
        return not_found(request, user, "No such asset.")
    resp = Response(found[0], media_type=found[1])
    resp.headers["Content-Security-Policy"] = REPORT_CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "private, max-age=86400"  # a pinned package's file: it changes with the package
    return resp


@router.post("/api/v1/keys/{output}/{version_id}", dependencies=READ)
async def release_key(request: Request, output: str, version_id: str, user: GetUserDep) -> JSONResponse:
    """A release's data key for its recipient, wrapped to the recipient party's key, while the grant
    holds (pactline.delivery.key_release). The caller's Airflow user name is the `access:` principal;
    the body names the party it acts for: {"party": "<party id>"}."""
    if not same_origin(request):
        return JSONResponse({"refused": "origin", "message": "request from another site"}, 403)
    body = await request.body()
    try:
        party = json.loads(body or b"{}").get("party") if len(body) <= MAX_FORM_BYTES else None
    except (ValueError, AttributeError):
        party = None
    if not isinstance(party, str) or not _ID.match(party):
        return JSONResponse({"refused": "request", "message": 'send {"party": "<your party id>"}'}, 400)
    return key_release_response(output, version_id, party, user)


async def checked_form(request: Request, user: Any,
                       refuse: Callable[[int, str], HTMLResponse]) -> dict[str, str] | HTMLResponse:
    """A steward's POSTed form, or the refusal: from this site, bounded, with the CSRF token bound to this user
    (every form that records a decision goes through here)."""
    if not same_origin(request):
        return refuse(403, "This form was submitted from another site; nothing was recorded.")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return refuse(413, "The form is too large.")
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
    problem = csrf.check(csrf_secret(), str(user.get_id()), form.get(csrf.FIELD), request.cookies.get(csrf.COOKIE))
    if problem:
        return refuse(403, problem)
    return form


@router.post("/approvals/{dag_id}", dependencies=DECIDE)
async def decide(request: Request, dag_id: str, user: GetUserDep) -> Response:
    base = base_of(request)
    name = user_name(user)

    def refuse(code: int, message: str) -> HTMLResponse:
        return html(error_page("Decision not recorded", message, base=base, user=name), code)

    form = await checked_form(request, user, refuse)
    if isinstance(form, Response):
        return form
    decision, run_id, task_id = form.get("decision"), form.get("run_id") or "", form.get("task_id") or ""
    comment = clean_comment(form.get("comment"))
    try:
        map_index = int(form.get("map_index", "-1"))
    except ValueError:
        return refuse(400, "map_index must be a whole number.")
    if decision not in (ui_approvals.APPROVE, ui_approvals.REJECT):
        return refuse(400, "Choose Approve or Reject.")
    if decision == ui_approvals.REJECT and not comment:
        return refuse(400, "Say why in the comment when you reject a release.")
    if not run_id or not task_id or not is_approval_task(dag_id, run_id, task_id, map_index):
        return refuse(404, "No such Pactline approval step.")
    fingerprint = run_fingerprint(dag_id, run_id, task_id)
    if not fingerprint or form.get("fingerprint") != fingerprint:
        return refuse(409, "The agreement changed since this page was rendered (fingerprint differs); "
                           "reload the review and decide again.")
    try:
        submit_hitl(dag_id, run_id, task_id, map_index, decision, comment, user)
    except HTTPException as err:
        return refuse(err.status_code, str(err.detail))
    try:
        ledger().append("approval.submitted", agreement_id=dag_id, fingerprint=fingerprint,
                        actor=f"airflow-ui:{name}",
                        payload={"run_id": run_id, "task_id": task_id, "decision": decision, "comment": comment,
                                 "user": name, "user_id": str(user.get_id()), "via": "pactline-ui"})
    except Exception:
        log.exception("Pactline: decision on %s/%s/%s accepted by Airflow but not written to the ledger",
                      dag_id, run_id, task_id)
        return refuse(500, "Airflow accepted the decision, but it could not be written to the ledger; the "
                           "approval step records it again when it resumes. Tell the operator.")
    target = f"{base}/runs/{url(dag_id, run_id)}?decided={url(decision)}#approval"
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


def run_evaluations(loaded: Any, run_id: str) -> list[tuple[dict[str, Any], Any]]:
    """The evaluation reports (and the training release's label bias) of the models scored on this run's holdout."""
    from pactline.evaluation.history import EVALUATED

    root, out = data_root(), []
    for x in ledger().entries(agreement_id=loaded.id, event=EVALUATED):
        split = ui_evaluations.holdout_split(root, loaded.id, x.payload["release"])
        rel = x.payload.get("report")
        if split is None or split["run_id"] != run_id or not rel or not root.exists(rel):
            continue
        report = root.read_json(x.payload["report"])
        out.append((report, ui_evaluations.training_bias(root, loaded, report)))
    return out


@router.get("/evaluations/{dag_id}/{purpose}/{model_version}", dependencies=READ)
def evaluation_page(request: Request, dag_id: str, purpose: str, model_version: str, user: GetUserDep) -> HTMLResponse:
    from pactline.evaluation.history import model_versions

    loaded = ui_agreements.load_folder(agreements_folder()).get(dag_id)
    entry = ui_evaluations.evaluation_entry(ledger(), dag_id, purpose, model_version) if loaded else None
    root = data_root()
    if entry is None or not entry.payload.get("report") or not root.exists(entry.payload["report"]):
        return not_found(request, user, "No evaluation report of this model version (or it was purged).")
    report = root.read_json(entry.payload["report"])
    status = next((v.status for v in model_versions(ledger(), dag_id, purpose) if v.model_version == model_version),
                  "failed")
    body = ui_evaluations.render_evaluation(report, bias=ui_evaluations.training_bias(root, loaded, report),
                                            status=status, base=base_of(request), agreement_id=dag_id)
    return html(page(f"Evaluation of {purpose} {model_version}", body, base=base_of(request), active="agreements",
                     user=user_name(user)))


@router.get("/ledger", dependencies=READ)
def ledger_page(request: Request, user: GetUserDep, agreement: str | None = None, event: str | None = None,
                limit: int = 50) -> HTMLResponse:
    base = base_of(request)
    found = ui_agreements.load_folder(agreements_folder())
    lg = ledger()
    ids = readable(user, set(found.valid) | agreement_ids_in_ledger(lg))
    if agreement:
        ids &= {agreement}
    limit = max(1, min(limit, 500))
    body = ui_ledger.render_ledger(
        ui_ledger.status(lg), ui_ledger.recent(lg, limit=limit, agreements=ids, event=event or None),
        ui_ledger.receipts(data_root(), lg, ids), ui_ledger.event_counts(lg, ids), base=base,
        url_=f"{base}/ledger", filters={"agreement": agreement, "event": event})
    return html(page("Ledger", body, base=base, active="ledger", user=user_name(user)))


@router.get("/incidents", dependencies=READ)
def incidents_page(request: Request, user: GetUserDep, acknowledged: int | None = None) -> HTMLResponse:
    base = base_of(request)
    found = ui_agreements.load_folder(agreements_folder())
    lg = ledger()
    ids = readable(user, set(found.valid) | agreement_ids_in_ledger(lg))
    # "*": incidents of no one agreement (a witnessed ledger that was truncated): for who may see every DAG
    ids = ids | ({"*"} if may_see_import_errors(user) else set())
    entries = [x for ev in ui_incidents.EVENTS for x in lg.entries(event=ev) if x.agreement_id in ids]
    items = ui_incidents.collect(entries, found.valid)
    # the Acknowledge form, for who may decide the agreement's releases (issue 17), with a CSRF token as approvals
    deciders = {i: may_decide(user, i) for i in {x.agreement_id for x in ui_incidents.acknowledgeable(items)}
                if i in found.valid}
    token, cookie_token = None, request.cookies.get(csrf.COOKIE)
    if any(deciders.values()):
        uid = str(user.get_id())
        token = cookie_token if csrf.valid_for(csrf_secret(), uid, cookie_token) else csrf.issue(csrf_secret(), uid)
    body = ui_incidents.render(items, now(), base=base, csrf_token=token,
                               may_acknowledge=lambda i: deciders.get(i, False))
    if acknowledged is not None:
        body = Html(notice(f"Incident #{acknowledged} acknowledged: its escalations stop; recorded in the ledger.",
                           "ok") + body)
    # no automatic refresh while a form is on the page: it would wipe a comment being written
    resp = html(page("Incidents", body, base=base, active="incidents", user=user_name(user),
                     refresh_seconds=None if token else 60))
    if token and token != cookie_token:
        resp.set_cookie(csrf.COOKIE, token, max_age=csrf.MAX_AGE, path=base or "/", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    return resp


@router.post("/incidents/{dag_id}/acknowledge", dependencies=DECIDE)
async def acknowledge_incident(request: Request, dag_id: str, user: GetUserDep) -> Response:
    """A steward acknowledges an incident (issue 17): the approval form's checks, then an incident.acknowledged
    entry naming the incident.opened entry (pactline.incidents.acknowledge)."""
    from pactline.incidents.acknowledge import IncidentNotFound, acknowledge

    base = base_of(request)
    name = user_name(user)

    def refuse(code: int, message: str) -> HTMLResponse:
        return html(error_page("Acknowledgement not recorded", message, base=base, user=name), code)

    form = await checked_form(request, user, refuse)
    if isinstance(form, Response):
        return form
    try:
        index = int(form.get("incident", ""))
    except ValueError:
        return refuse(400, "incident must be the ledger index of the incident (a whole number).")
    try:
        acknowledge(ledger(), dag_id, index, user=name, user_id=str(user.get_id()), comment=form.get("comment") or "",
                    actor=f"airflow-ui:{name}", via="pactline-ui")
    except IncidentNotFound as err:
        return refuse(404, str(err))
    target = f"{base}/incidents?acknowledged={index}#incident-{index}"
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


# -- the app -------------------------------------------------------------------------------------------

def build_app() -> FastAPI:
    """The steward pages' app: the routes above, under the plugin's URL prefix (/pactline)."""
    app = FastAPI(title="Pactline steward pages", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(router)
    return app


def agreement_ids_in_ledger(lg: Any) -> set[str]:
    """Agreements the ledger has entries of (an agreement file may be gone while its history stays)."""
    return {x.agreement_id for x in lg.entries(event="agreement.loaded")}


def key_release_response(output: str, version_id: str, party: str, user: Any) -> JSONResponse:
    from pactline.delivery.key_release import KeyRefused, KeyRequest, release_key
    from pactline.ledger.witness import seal
    from pactline.parties import PartyKeys
    from pactline.recording import ledger_recorder

    root = data_root()
    try:
        record = root.vault.catalog.get(version_id)
    except Exception:
        record = None
    loaded = ui_agreements.load_folder(agreements_folder()).get(record.agreement_id) if record else None
    if record is None or loaded is None or record.name != output or not readable(user, {loaded.id}):
        return JSONResponse({"refused": "outputs", "message": f"no release {version_id} of {output} here"}, 404)
    recorder = ledger_recorder(loaded, actor=f"api:{user_name(user)}", run_id=None)
    try:
        body = release_key(loaded, KeyRequest(version_id, user_name(user), party), as_of=now().date(),
                           vault=root.vault, record=recorder, party_keys=PartyKeys(keystore()))
    except KeyRefused as e:
        seal(ledger())  # every release and refusal is covered by a signed, published checkpoint at once
        return JSONResponse({"refused": e.clause, "message": str(e)}, e.status)
    seal(ledger())
    return JSONResponse(body, 200, headers={"Cache-Control": "no-store"})


def same_origin(request: Request) -> bool:
    """Refuse a POST whose Origin (or Referer) names another site; Sec-Fetch-Site cross-site too."""
    if request.headers.get("sec-fetch-site", "same-origin") == "cross-site":
        return False
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        return True  # non-browser clients; the CSRF token still has to match
    parts = urlsplit(source)
    return f"{parts.scheme}://{parts.netloc}" == f"{request.url.scheme}://{request.url.netloc}"


def submit_hitl(dag_id: str, run_id: str, task_id: str, map_index: int, decision: str, comment: str,
                user: Any) -> None:
    """Answer the human-in-the-loop request exactly as Airflow's own API does (PATCH .../hitlDetails).

    It records who responded, when and what, and resumes the task parked in awaiting_input: the
    scheduler then runs the ApprovalOperator's execute_complete, which writes approval.decided to the
    ledger and skips the publish step on rejection. Airflow's audit log gets the decision too (in the
    same transaction), so it shows in the run's Audit Log tab.
    """
    import json

    from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
    from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
    from airflow.models.log import Log
    from airflow.utils.session import create_session

    payload = UpdateHITLDetailPayload(chosen_options=[decision], params_input={"comment": comment})
    with create_session(scoped=False) as session:
        update_hitl_detail(dag_id=dag_id, dag_run_id=run_id, task_id=task_id, update_hitl_detail_payload=payload,
                           user=user, session=session, map_index=map_index)
        session.add(Log(event="pactline.approval", owner=user_name(user), owner_display_name=user_name(user),
                        dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index,
                        extra=json.dumps({"decision": decision, "comment": comment, "via": "pactline-ui"})))


__all__ = ["build_app"]
