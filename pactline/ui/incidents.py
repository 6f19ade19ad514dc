"""The Incidents page: every policy violation and failed gate, with the notification deadline counting down.

Sources in the ledger: `incident.opened` (written by the pipeline with opened_at, notify_by,
contacts, report), `policy.violation`, failed `check.result` and `step.failed` entries whose error
is a PolicyViolation. Violations and failures of the same run and dataset are attached to the
incident they caused; any left without an incident becomes one, its deadline computed from the
entry's time and the agreement's incident_response.notification_deadline_hours.

An incident.opened entry also shows the notices sent about it (`incident.notified`, `incident.escalated`) and its
acknowledgement; while it has none, a steward who may decide the agreement's releases gets the Acknowledge form
(posted back to the plugin with a CSRF token, like the approval form; pactline.incidents.acknowledge records it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pactline.agreement import LoadedAgreement
from pactline.charts import progress
from pactline.comments import MAX_COMMENT
from pactline.incidents.stages import ACK_EVENTS, ESCALATED, NOTIFIED, named_incident
from pactline.ledger import Entry
from pactline.ui.html import Html, a, badge, code, countdown, e, parse_time, short, table, url, when

SOURCE_EVENTS = ("incident.opened", "policy.violation", "check.result", "step.failed")
FOLLOW_UP_EVENTS = (*ACK_EVENTS, NOTIFIED, ESCALATED)  # name an incident.opened entry by its index
EVENTS = SOURCE_EVENTS + FOLLOW_UP_EVENTS


@dataclass
class Incident:
    agreement_id: str
    kind: str
    summary: str
    opened_at: dt.datetime | None
    notify_by: dt.datetime | None
    run_id: str | None = None
    dataset: str | None = None
    contacts: list[str] = field(default_factory=list)
    report: str | None = None
    fingerprint: str | None = None
    ledger_index: int | None = None
    evidence: list[Entry] = field(default_factory=list)
    opened_entry: bool = False  # from an incident.opened entry (which notices and acknowledgements name)
    acknowledged: Entry | None = None
    notices: list[Entry] = field(default_factory=list)

    def seconds_left(self, now: dt.datetime) -> float | None:
        return None if self.notify_by is None else (self.notify_by - now).total_seconds()


def _is_source(x: Entry) -> bool:
    p = x.payload or {}
    if x.event in ("incident.opened", "policy.violation"):
        return True
    if x.event == "check.result":
        return p.get("passed") is False
    if x.event == "step.failed":
        return p.get("error_type") == "PolicyViolation"
    return False


def _kind_of(x: Entry) -> str:
    p = x.payload or {}
    if x.event == "check.result":
        return f"gate.{p.get('check')}"
    if x.event == "policy.violation":
        return f"policy.{p.get('kind') or 'violation'}"
    if x.event == "step.failed":
        return f"policy.{p.get('step') or 'step'}"
    return str(p.get("kind") or x.event)


def _summary_of(x: Entry) -> str:
    p = x.payload or {}
    if x.event == "check.result":
        failures = "; ".join(str(f) for f in (p.get("failures") or [])[:5])
        return f"{p.get('check')} check failed: {failures}"
    if x.event == "policy.violation":
        return (f"column {p.get('column')}: {p.get('kind')} (declared {p.get('declared')}, found {p.get('found')}); "
                f"action {p.get('action')} under {p.get('clause')}")
    if x.event == "step.failed":
        return str(p.get("error") or "")
    return str(p.get("summary") or "")


def collect(entries: Iterable[Entry], agreements: Mapping[str, LoadedAgreement]) -> list[Incident]:
    """Incidents from ledger entries (any order); `agreements` gives the deadline of orphan violations."""
    entries = list(entries)
    sources = sorted((x for x in entries if x.event in SOURCE_EVENTS and _is_source(x)), key=lambda x: x.index)
    incidents: list[Incident] = []
    by_key: dict[tuple[str, Any, Any], list[Incident]] = {}
    for x in sources:
        if x.event != "incident.opened":
            continue
        p = x.payload or {}
        inc = Incident(x.agreement_id, str(p.get("kind") or "incident"), str(p.get("summary") or ""),
                       parse_time(p.get("opened_at")) or parse_time(x.timestamp), parse_time(p.get("notify_by")),
                       p.get("run_id"), p.get("dataset"), [str(c) for c in p.get("contacts") or []], p.get("report"),
                       x.fingerprint, x.index, opened_entry=True)
        incidents.append(inc)
        by_key.setdefault((x.agreement_id, inc.run_id, inc.dataset), []).append(inc)
    for x in sources:
        if x.event == "incident.opened":
            continue
        p = x.payload or {}
        key = (x.agreement_id, p.get("run_id"), p.get("dataset"))
        kind = _kind_of(x)
        candidates = by_key.get(key) or []
        match = next((i for i in candidates if i.kind == kind), None)
        if match is None and x.event == "policy.violation":
            match = next((i for i in candidates if i.kind.startswith("policy.")), None)
        if match is None and x.event == "step.failed":
            match = next(iter(candidates), None)  # the step that failed because of an opened incident
        if match is not None:
            match.evidence.append(x)
            continue
        opened = parse_time(x.timestamp)
        loaded = agreements.get(x.agreement_id)
        hours = loaded.agreement.incident_response.notification_deadline_hours if loaded else None
        contacts = [c.email for c in loaded.agreement.incident_response.contacts] if loaded else []
        inc = Incident(x.agreement_id, kind, _summary_of(x), opened,
                       opened + dt.timedelta(hours=hours) if opened and hours else None,
                       p.get("run_id"), p.get("dataset"), contacts, p.get("report") or p.get("summary"),
                       x.fingerprint, x.index, [x])
        incidents.append(inc)
        by_key.setdefault(key, []).append(inc)
    _follow_up(entries, incidents)
    return incidents


def _follow_up(entries: Iterable[Entry], incidents: list[Incident]) -> None:
    """Attach the notices and the (first) acknowledgement naming each incident.opened entry."""
    opened = {i.ledger_index: i for i in incidents if i.opened_entry}
    for x in sorted((x for x in entries if x.event in FOLLOW_UP_EVENTS), key=lambda x: x.index):
        inc = opened.get(named_incident(x.payload))
        if inc is None or inc.agreement_id != x.agreement_id:
            continue
        if x.event in ACK_EVENTS:
            inc.acknowledged = inc.acknowledged or x
        else:
            inc.notices.append(x)


def order(incidents: list[Incident], now: dt.datetime) -> list[Incident]:
    """Deadlines still ahead first (most urgent first), then passed ones (most recent first)."""
    ahead = [i for i in incidents if (i.seconds_left(now) or -1) >= 0]
    passed = [i for i in incidents if i not in ahead]
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    ahead.sort(key=lambda i: i.notify_by or far)
    passed.sort(key=lambda i: i.notify_by or i.opened_at or dt.datetime.min.replace(tzinfo=dt.UTC), reverse=True)
    return ahead + passed


def render_form(inc: Incident, *, base: str, csrf_token: str) -> Html:
    hidden = "".join(f'<input type="hidden" name="{e(k)}" value="{e(v)}">' for k, v in (
        ("csrf_token", csrf_token), ("incident", inc.ledger_index)))
    return Html(
        f'<form class="decision" method="post" action="{e(base)}/incidents/{url(inc.agreement_id)}/acknowledge">'
        f'{hidden}<label for="ack-{e(inc.ledger_index)}">Comment (recorded in the ledger with your acknowledgement)'
        f'</label><textarea id="ack-{e(inc.ledger_index)}" name="comment" maxlength="{MAX_COMMENT}"></textarea>'
        f'<div class="buttons"><button class="approve" type="submit">Acknowledge incident #{e(inc.ledger_index)}'
        f"</button></div></form>")


def _handling(inc: Incident, *, base: str, csrf_token: str | None, may_acknowledge: Callable[[str], bool]) -> Html:
    """Notices sent, the acknowledgement, or the form (for an incident.opened entry only)."""
    if not inc.opened_entry:
        return Html("")
    sent = "; ".join(f"{e((x.payload or {}).get('stage'))} {when(x.timestamp)}" for x in inc.notices) or "none yet"
    facts = f'<dl class="facts"><dt>notices sent</dt><dd>{sent}</dd>'
    if inc.acknowledged is not None:
        p = inc.acknowledged.payload or {}
        facts += (f"<dt>acknowledged</dt><dd>{badge(True, 'ACKNOWLEDGED')} by {e(p.get('user') or '-')}, "
                  f"{when(inc.acknowledged.timestamp)} (ledger entry #{e(inc.acknowledged.index)})"
                  f"{(': ' + e(p.get('comment'))) if p.get('comment') else ''}</dd></dl>")
        return Html(facts)
    facts += ("<dt>acknowledged</dt><dd>not yet: until it is, every contact is reminded at half the deadline and "
              "once it has passed</dd></dl>")
    if csrf_token and may_acknowledge(inc.agreement_id):
        return Html(facts + render_form(inc, base=base, csrf_token=csrf_token))
    why = ("This incident is about another party's ledger, not one agreement: it is not acknowledged on this page."
           if inc.agreement_id == "*" else "Acknowledging needs edit permission on the agreement's DAG.")
    return Html(facts + f'<p class="notice">{e(why)}</p>')


def acknowledgeable(incidents: Iterable[Incident]) -> list[Incident]:
    return [i for i in incidents if i.opened_entry and i.acknowledged is None]


def render(incidents: list[Incident], now: dt.datetime, *, base: str, csrf_token: str | None = None,
           may_acknowledge: Callable[[str], bool] = lambda _: False) -> Html:
    if not incidents:
        return Html(f"<p>{badge(True, 'NONE')} No policy violation and no failed gate recorded.</p>")
    ordered = order(incidents, now)
    open_count = sum(1 for i in ordered if (i.seconds_left(now) or -1) >= 0)
    cards = [f"<p>{len(ordered)} incident(s); {open_count} with the notification deadline still ahead; "
             f"{len(acknowledgeable(ordered))} not acknowledged. Times are UTC; "
             f"{'reload the page for the latest' if csrf_token else 'the page refreshes every minute'}.</p>"]
    for inc in ordered:
        text, left = countdown(inc.notify_by, now)
        window = (inc.notify_by - inc.opened_at).total_seconds() if inc.notify_by and inc.opened_at else None
        used = None if window in (None, 0) or left is None else 1 - left / window
        cls = "overdue" if left is not None and left < 0 else ("soon" if left is not None and left < 6 * 3600 else "")
        bar = progress(f"{text}", used, ok=left is None or left >= 0)
        run_link = a(f"{base}/runs/{url(inc.agreement_id, inc.run_id)}", "review the run") if inc.run_id else ""
        evidence = table(["#", "time", "event", "what"], [
            (x.index, when(x.timestamp), code(x.event), _summary_of(x)[:500]) for x in inc.evidence]) if inc.evidence else Html("")
        pending = left is not None and left >= 0 and inc.acknowledged is None
        cards.append(
            f'<div class="card{" pending" if pending else ""}" id="incident-{e(inc.ledger_index)}">'
            f"<h3>{code(inc.kind)} in {e(inc.agreement_id)}{(' / ' + e(inc.dataset)) if inc.dataset else ''} "
            f"{badge(False, no='INCIDENT')}</h3><p>{e(inc.summary)}</p>"
            f'<p class="countdown"><span class="{cls or "due"}">{e(text)}</span> to notify, '
            f"deadline {when(inc.notify_by)}<br>{bar}</p>"
            f'<dl class="facts">'
            f"<dt>opened</dt><dd>{when(inc.opened_at)}</dd>"
            f"<dt>notify</dt><dd>{e(', '.join(inc.contacts) or '-')}</dd>"
            f"<dt>run</dt><dd>{code(inc.run_id or '-')} {run_link}</dd>"
            f"<dt>report</dt><dd>{code(inc.report or '-')}</dd>"
            f"<dt>ledger</dt><dd>entry #{e(inc.ledger_index)}, fingerprint {short(inc.fingerprint)}</dd></dl>"
            f"{_handling(inc, base=base, csrf_token=csrf_token, may_acknowledge=may_acknowledge)}"
            f"{evidence}</div>")
    return Html("".join(cards))
