"""The Agreements page: every agreement file, valid or not.

A valid agreement shows its parties, purposes, transfers, outputs, the countdown to its expiry,
its fingerprint, and a matrix of columns x transformations: the one transformation the agreement
allows for each column, those its restrictions forbid outright, and everything else denied by
default, and the parties' signatures: each party's status, the signed versions, and what changed since
the last version every party signed. An invalid one shows every validation problem with its YAML path and line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pactline.agreement import LoadedAgreement, load_agreement
from pactline.charts import progress
from pactline.delivery.attest import Delivery
from pactline.errors import AgreementError, Problem
from pactline.ui.consent import Consent, render_badge, render_consent
from pactline.ui.deliveries import render_deliveries
from pactline.ui.html import Html, a, badge, code, e, join, section, table, url

TRANSFORMATION_KINDS = ("keep", "drop", "redact", "mask", "pseudonymise", "generalise", "date_shift",
                        "redact_text", "encrypt")


@dataclass
class InvalidAgreement:
    source: str
    problems: list[Problem]


@dataclass
class AgreementSet:
    """What an agreements folder holds: valid agreements by id, and the files that failed to load."""

    valid: dict[str, LoadedAgreement] = field(default_factory=dict)
    invalid: list[InvalidAgreement] = field(default_factory=list)

    def get(self, agreement_id: str) -> LoadedAgreement | None:
        return self.valid.get(agreement_id)


def agreement_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))


def load_folder(folder: Path) -> AgreementSet:
    out = AgreementSet()
    for path in agreement_files(Path(folder)):
        try:
            loaded = load_agreement(path)
        except AgreementError as err:
            out.invalid.append(InvalidAgreement(path.name, list(err.problems)))
            continue
        except Exception as err:  # an unreadable file is shown, not a page that fails
            out.invalid.append(InvalidAgreement(path.name, [Problem("", None, f"{type(err).__name__}: {err}")]))
            continue
        if loaded.id in out.valid:
            out.invalid.append(InvalidAgreement(path.name, [Problem(
                "metadata.id", None, f"id {loaded.id!r} is already used by {Path(out.valid[loaded.id].source).name}")]))
            continue
        out.valid[loaded.id] = loaded
    return out


# -- facts -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Term:
    days_left: int
    fraction_used: float
    in_force: bool
    text: str


def term(loaded: LoadedAgreement, today: dt.date) -> Term:
    meta = loaded.agreement.metadata
    total = max((meta.expires - meta.effective).days, 1)
    used = (today - meta.effective).days / total
    left = (meta.expires - today).days
    if today < meta.effective:
        text = f"not in force yet: starts in {(meta.effective - today).days} days ({meta.effective})"
    elif left < 0:
        text = f"expired {-left} days ago ({meta.expires})"
    elif left == 0:
        text = f"expires today ({meta.expires})"
    else:
        text = f"expires in {left} days ({meta.expires})"
    return Term(left, used, meta.effective <= today <= meta.expires, text)


def matrix(loaded: LoadedAgreement) -> list[tuple[str, str, str, dict[str, str]]]:
    """(dataset, column, category, {kind: 'allowed'|'forbidden'|'denied'}) for every declared column."""
    ag = loaded.agreement
    rows = []
    for ds in ag.datasets:
        for name, col in ds.columns.items():
            cells = {}
            for kind in TRANSFORMATION_KINDS:
                if col.transformation.kind == kind:
                    cells[kind] = "allowed"
                elif any(col.category in r.categories and kind in r.forbidden_transformations for r in ag.restrictions):
                    cells[kind] = "forbidden"
                else:
                    cells[kind] = "denied"
            rows.append((ds.id, name, col.category, cells))
    return rows


def _params(loaded: LoadedAgreement, dataset_id: str, column: str) -> str:
    t = loaded.agreement.dataset(dataset_id).columns[column].transformation
    params = t.model_dump(mode="json", exclude={"kind", "examples"}, exclude_none=True)
    return ", ".join(f"{k}={v}" for k, v in params.items() if v not in ([], ""))


# -- rendering -------------------------------------------------------------------------------------

def render_matrix(loaded: LoadedAgreement) -> Html:
    head = "".join(f"<th>{e(k)}</th>" for k in TRANSFORMATION_KINDS)
    rows = []
    current = None
    for dataset, column, category, cells in matrix(loaded):
        if dataset != current:
            provider = loaded.agreement.dataset(dataset).provider
            rows.append(f'<tr><th colspan="{len(TRANSFORMATION_KINDS) + 3}">dataset {e(dataset)} '
                        f"(provider {e(provider)})</th></tr>")
            current = dataset
        tds = []
        for kind in TRANSFORMATION_KINDS:
            state = cells[kind]
            if state == "allowed":
                tds.append(f'<td class="allowed" title="allowed: {e(kind)}">&#10003;</td>')
            elif state == "forbidden":
                tds.append(f'<td class="forbidden" title="{e(kind)} is forbidden by a restriction">&#10007;</td>')
            else:
                tds.append(f'<td class="denied" title="{e(kind)} is not allowed (default deny)">&middot;</td>')
        params = _params(loaded, dataset, column)
        rows.append(f"<tr><td><code>{e(column)}</code></td><td>{e(category)}</td>{''.join(tds)}"
                    f'<td class="params">{e(params) or "-"}</td></tr>')
    legend = ('<p class="meta">&#10003; the one transformation the agreement allows for the column; '
              "&#10007; forbidden by a restriction; &middot; denied by default.</p>")
    return Html(f'<div class="scroll"><table class="matrix"><thead><tr><th>column</th><th>category</th>{head}'
                f'<th>parameters</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>{legend}')


def render_facts(loaded: LoadedAgreement, today: dt.date) -> Html:
    ag = loaded.agreement
    t = term(loaded, today)
    parties = table(["party", "role", "jurisdiction", "contacts"], [
        (Html(f"<strong>{e(p.name)}</strong> <code>{e(p.id)}</code>"), p.role, p.jurisdiction,
         join((f"{c.name} <{c.email}>" for c in p.contacts), "; "))
        for p in ag.parties])
    purposes = table(["purpose", "description", "permitted model types"], [
        (code(p.id), p.description, ", ".join(p.permitted_model_types)) for p in ag.purposes])
    transfers = table(["from", "to", "mechanism", "reference"], [
        (t_.from_, t_.to, t_.mechanism, t_.reference) for t_ in ag.transfers]) if ag.transfers else Html(
        "<p>No cross-border transfers.</p>")
    outputs = table(["output", "dataset", "kind", "zone", "recipient", "purpose", "steward approval"], [
        (code(o.id), o.dataset, o.kind, o.zone, o.recipient, o.purpose, "required" if o.approval_required else "no")
        for o in ag.outputs])
    restrictions = table(["restriction", "forbids", "on", "examples"], [
        (Html(f"<code>{e(r.id)}</code><br>{e(r.description)}"), ", ".join(r.forbidden_transformations),
         ", ".join(r.categories), Html("<br>".join(e(x) for x in r.examples)))
        for r in ag.restrictions]) if ag.restrictions else Html("<p>No restrictions listed.</p>")
    state = badge(t.in_force, "IN FORCE", "NOT IN FORCE")
    return Html(
        f'<dl class="facts"><dt>version</dt><dd>{e(ag.metadata.version)}</dd>'
        f"<dt>term</dt><dd>{e(ag.metadata.effective)} to {e(ag.metadata.expires)} {state}</dd>"
        f"<dt>expiry</dt><dd><strong>{e(t.text)}</strong><br>"
        f"{progress(f'{t.fraction_used:.0%} of the term used', t.fraction_used, ok=t.in_force)}</dd>"
        f"<dt>fingerprint</dt><dd><code>{e(loaded.fingerprint)}</code></dd>"
        f"<dt>file</dt><dd><code>{e(Path(loaded.source).name)}</code></dd>"
        f"<dt>incident notification</dt><dd>within {e(ag.incident_response.notification_deadline_hours)} h to "
        f"{join((c.email for c in ag.incident_response.contacts), ', ')}</dd></dl>"
        f"<h3>Parties</h3>{parties}<h3>Purposes</h3>{purposes}<h3>Transfers</h3>{transfers}"
        f"<h3>Outputs</h3>{outputs}<h3>Restrictions</h3>{restrictions}"
    )


def render_agreement(loaded: LoadedAgreement, today: dt.date, *, base: str, consent: Consent | None = None,
                     delivered: Sequence[Delivery] | None = None, models: Html | None = None) -> Html:
    ag = loaded.agreement
    links = Html(f'<nav class="sub">{a(f"{base}/agreements", "all agreements")}'
                 f'{a(f"{base}/reviews?" + url_query(agreement=loaded.id), "reviews of its runs")}</nav>')
    signed = (f'<h3 id="signatures">Signatures</h3>{render_consent(consent, loaded)}' if consent is not None else "")
    shipped = f'<h3 id="deliveries">Deliveries</h3>{render_deliveries(delivered)}' if delivered is not None else ""
    # issue 15: each purpose's evaluated model versions with their status (pactline.ui.evaluations)
    shipped += f'<h3 id="models">Model versions</h3>{models}' if models else ""
    return Html(f"{links}<p>{e(ag.metadata.title)}</p>{signed}{shipped}{render_facts(loaded, today)}"
                f"<h3>Columns x allowed transformation</h3>{render_matrix(loaded)}")


def url_query(**params: str) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


def render_invalid(items: Iterable[InvalidAgreement]) -> Html:
    cards = []
    for item in items:
        rows = [(p.line if p.line else "?", code(p.path or "<document>"), p.message) for p in item.problems]
        cards.append(f'<div class="card invalid"><h3>{e(item.source)} {badge(False, no="INVALID")}</h3>'
                     f"<p>{len(item.problems)} problem(s); no DAG is built from this file until they are fixed.</p>"
                     f"{table(['line', 'YAML path', 'problem'], rows)}</div>")
    return Html("".join(cards))


def render_agreements(agreements: AgreementSet, today: dt.date, *, base: str, show_invalid: bool = True,
                      consents: dict[str, Consent] | None = None) -> Html:
    cards = []
    for loaded in sorted(agreements.valid.values(), key=lambda x: x.id):
        ag = loaded.agreement
        t = term(loaded, today)
        parties = ", ".join(f"{p.name} ({p.role}, {p.jurisdiction})" for p in ag.parties)
        purposes = ", ".join(p.id for p in ag.purposes)
        consent = (consents or {}).get(loaded.id)
        signed = f" {render_badge(consent)}" if consent is not None else ""
        cards.append(
            f'<div class="card" id="agreement-{e(loaded.id)}"><h3>{a(f"{base}/agreements/" + url(loaded.id), ag.metadata.title)} '
            f"{badge(t.in_force, 'IN FORCE', 'NOT IN FORCE')}{signed}</h3>"
            f'<dl class="facts"><dt>id</dt><dd><code>{e(loaded.id)}</code> v{e(ag.metadata.version)}</dd>'
            f"<dt>parties</dt><dd>{e(parties)}</dd><dt>purposes</dt><dd>{e(purposes)}</dd>"
            f"<dt>expiry</dt><dd><strong>{e(t.text)}</strong> "
            f"{progress(f'{t.fraction_used:.0%} of the term used', t.fraction_used, ok=t.in_force)}</dd>"
            f"<dt>fingerprint</dt><dd><code>{e(loaded.fingerprint)}</code></dd></dl>"
            f"<details open><summary>columns x allowed transformation</summary>{render_matrix(loaded)}</details></div>"
        )
    if not cards:
        cards.append("<p>No valid agreement you may read.</p>")
    valid = section(f"Valid agreements ({len(agreements.valid)})", Html("".join(cards)), id_="valid")
    if not show_invalid:
        return valid
    invalid = list(agreements.invalid)
    if not invalid:
        return Html(valid + section("Invalid agreements (0)", Html("<p>Every agreement file validates.</p>"),
                                    id_="invalid"))
    # files that do not validate come first: until they are fixed, Airflow builds no DAG from them
    return Html(section(f"Invalid agreements ({len(invalid)})", render_invalid(invalid), id_="invalid") + valid)
