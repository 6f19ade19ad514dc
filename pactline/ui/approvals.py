"""Release approvals as the steward sees them: what waits, what was decided, and the decision form.

The data comes from Airflow's human-in-the-loop records (the plugin turns them into `Approval`s);
the form posts back to the plugin, which answers through Airflow's own HITL mechanism so the
waiting ApprovalOperator resumes. A form carries the agreement fingerprint the steward reviewed:
if the DAG was rebuilt from another version of the agreement since, the plugin refuses it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pactline.comments import MAX_COMMENT
from pactline.ui.html import Html, a, badge, code, e, short, table, url, when

APPROVE, REJECT = "Approve", "Reject"


@dataclass
class Approval:
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    subject: str
    body: str | None
    options: list[str]
    created_at: Any
    state: str | None  # the task instance's state
    responded_at: Any = None
    responded_by: str | None = None
    chosen: list[str] = field(default_factory=list)
    params_input: dict[str, Any] = field(default_factory=dict)

    @property
    def pending(self) -> bool:
        return self.responded_at is None

    @property
    def comment(self) -> str | None:
        value = (self.params_input or {}).get("comment")
        return str(value) if value else None

    @property
    def dataset(self) -> str:
        """The dataset the release is of: each dataset's steps form a task group named after it (<dataset>.<step>)."""
        return self.task_id.partition(".")[0]


_MD_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]*)\)")


def plain_body(body: str | None) -> str:
    """The HITL body as plain text: Markdown links keep their text (this page is where they lead)."""
    return _MD_LINK.sub(lambda m: m.group(1), body or "").strip()


def render_decided(items: Iterable[Approval]) -> Html:
    rows = [(code(x.task_id), badge(x.chosen[:1] == [APPROVE], "APPROVED", "REJECTED") if x.chosen else "-",
             x.responded_by or "-", when(x.responded_at), x.comment or "-") for x in items]
    if not rows:
        return Html("")
    return table(["approval step", "decision", "by", "when", "comment"], rows)


def render_form(item: Approval, *, action: str, csrf_token: str, fingerprint: str | None) -> Html:
    hidden = "".join(f'<input type="hidden" name="{e(k)}" value="{e(v)}">' for k, v in (
        ("csrf_token", csrf_token), ("run_id", item.run_id), ("task_id", item.task_id),
        ("map_index", item.map_index), ("fingerprint", fingerprint or "")))
    return Html(
        f'<form class="decision" method="post" action="{e(action)}">{hidden}'
        f'<label for="comment-{e(item.task_id)}">Comment (recorded in the ledger with your decision; '
        f"required to reject)</label>"
        f'<textarea id="comment-{e(item.task_id)}" name="comment" maxlength="{MAX_COMMENT}"></textarea>'
        f'<div class="buttons"><button class="approve" type="submit" name="decision" value="{APPROVE}">Approve release'
        f'</button><button class="reject" type="submit" name="decision" value="{REJECT}">Reject release</button>'
        f"</div></form>")


def render_pending(items: Iterable[Approval], *, can_decide: bool, action: str, csrf_token: str | None,
                   fingerprint: str | None, pia_url: Callable[[Approval], str] | None = None) -> Html:
    cards = []
    for x in items:
        # the assessment the approval step wrote before asking: what the decision rests on
        pia = (f'<p>Read the {a(pia_url(x), "privacy impact assessment")} of this release before you decide.</p>'
               if pia_url else "")
        if can_decide and csrf_token:
            form = render_form(x, action=action, csrf_token=csrf_token, fingerprint=fingerprint)
        else:
            form = Html('<p class="notice">You may read this run but not decide its release: that needs edit '
                        "permission on the agreement's DAG.</p>")
        cards.append(
            f'<div class="card pending" id="approval-{e(x.task_id)}"><h3>{e(x.subject)} '
            f'<span class="badge warn">WAITING</span></h3><p>{e(plain_body(x.body))}</p>'
            f'<dl class="facts"><dt>step</dt><dd>{code(x.task_id)} (task state {e(x.state)})</dd>'
            f"<dt>waiting since</dt><dd>{when(x.created_at)}</dd>"
            f"<dt>fingerprint</dt><dd>{short(fingerprint, 64)}</dd></dl>{pia}{form}</div>")
    return Html("".join(cards))


def render_panel(items: list[Approval], *, can_decide: bool, action: str, csrf_token: str | None,
                 fingerprint: str | None, pia_url: Callable[[Approval], str] | None = None) -> Html:
    pending = [x for x in items if x.pending]
    decided = [x for x in items if not x.pending]
    parts = []
    if pending:
        parts.append(render_pending(pending, can_decide=can_decide, action=action, csrf_token=csrf_token,
                                    fingerprint=fingerprint, pia_url=pia_url))
    if decided:
        parts.append(render_decided(decided))
    return Html("".join(parts))


def render_waiting_list(items: Iterable[Approval], *, base: str) -> Html:
    rows = [(a(f"{base}/runs/{url(x.dag_id, x.run_id)}#approval", x.subject), x.dag_id, code(x.run_id),
             when(x.created_at)) for x in items if x.pending]
    if not rows:
        return Html("<p>No release is waiting for approval.</p>")
    return table(["release", "agreement", "run", "waiting since"], rows)


LEDGER_EVENTS = ("approval.requested", "approval.submitted", "approval.decided", "release.published")


def requested_fingerprint(ledger: Any, agreement_id: str, run_id: str, task_id: str) -> str | None:
    """The fingerprint an approval step obeyed: the one on its latest approval.requested entry."""
    found = None
    for x in ledger.entries(agreement_id=agreement_id, event="approval.requested"):
        p = x.payload or {}
        step = p.get("task_id") or f"{p.get('dataset')}.approve_{p.get('output')}"
        if p.get("run_id") == run_id and step == task_id:
            found = x.fingerprint
    return found


def run_history(ledger: Any, agreement_id: str, run_id: str) -> list[Any]:
    """The run's approval requests, submissions, decisions and releases, oldest first."""
    out = []
    for event in LEDGER_EVENTS:
        out += [x for x in ledger.entries(agreement_id=agreement_id, event=event)
                if (x.payload or {}).get("run_id") == run_id]
    return sorted(out, key=lambda x: x.index)


def render_ledger_rows(ledger: Any, agreement_id: str, run_id: str, *, base: str) -> Html:
    from pactline.ui.ledger_view import render_entries

    entries = run_history(ledger, agreement_id, run_id)
    return render_entries(entries, base=base) if entries else Html("")
