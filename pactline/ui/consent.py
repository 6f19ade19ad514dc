"""The parties' consent on the Agreement page: each party's signature status, the history of signed
versions, and what changed since the last version every party signed (what a steward is asked to sign).
"""

from __future__ import annotations

from dataclasses import dataclass

from pactline.agreement import LoadedAgreement, load_text
from pactline.agreement.diff import Change, diff_agreements
from pactline.errors import PactlineError, PolicyViolation
from pactline.parties import PartyKeys, PartyStatus, SignedVersions, signature_statuses
from pactline.parties.consent import require_new_version_number
from pactline.parties.history import SignedVersion
from pactline.ui.html import Html, badge, code, e, short, table, when

STATE_TEXT = {"signed": "signed", "missing": "missing", "invalid": "INVALID", "other_version": "signed another version",
              "rotated_key": "signed with a rotated key", "no_key": "no public key"}


@dataclass
class Consent:
    statuses: list[PartyStatus]
    versions: list[SignedVersion]  # every signed version, oldest first
    conflict: str | None  # this text under a version number signed for another text
    previous: SignedVersion | None  # the last version every party signed, other than this text
    changes: list[Change] | None  # this text against `previous`
    error: str | None = None  # the history could not be read

    @property
    def complete(self) -> bool:
        return self.conflict is None and all(s.state == "signed" for s in self.statuses)


def consent_of(loaded: LoadedAgreement, history: SignedVersions | None = None,
               party_keys: PartyKeys | None = None) -> Consent:
    statuses = signature_statuses(loaded, party_keys)
    try:
        history = history or SignedVersions()
        versions = history.versions(loaded.id)
        try:
            require_new_version_number(loaded, history)
            conflict = None
        except PolicyViolation as err:
            conflict = str(err)
        previous = history.last_complete(loaded.id, exclude=loaded.fingerprint)
        changes = diff_agreements(load_text(previous.canonical).agreement, loaded.agreement) if previous else None
    except PactlineError as err:  # shown on the page, never a page that fails
        return Consent(statuses, [], None, None, None, error=str(err))
    return Consent(statuses, versions, conflict, previous, changes)


def render_badge(consent: Consent) -> Html:
    return badge(consent.complete, "SIGNED BY ALL", "NOT SIGNED BY ALL")


def render_consent(consent: Consent, loaded: LoadedAgreement) -> Html:
    parts = [f"<p>{render_badge(consent)} A version runs only when every party has signed its fingerprint "
             f"<code>{e(loaded.fingerprint[:12])}</code> (<code>pactline sign FILE --party ID</code>).</p>"]
    parts.append(table(["party", "role", "status", "detail"], [
        (code(s.party), s.role, badge(s.state == "signed", "signed", STATE_TEXT.get(s.state, s.state)), s.detail)
        for s in consent.statuses]))
    if consent.conflict:
        parts.append(f'<p class="fail">{e(consent.conflict)}</p>')
    if consent.error:
        parts.append(f'<p class="fail">The signed-version history cannot be read: {e(consent.error)}</p>')
    parts.append("<h3>What changed since the last version every party signed</h3>")
    parts.append(_render_changes(consent))
    parts.append("<h3>Signed versions</h3>")
    parts.append(table(["version", "fingerprint", "first signed", "signed by", "complete"], [
        (v.version, short(v.fingerprint), when(v.first_signed_at), ", ".join(v.signed_by),
         badge(v.complete, "yes", "no"))
        for v in reversed(consent.versions)]) if consent.versions else Html("<p>No version has been signed yet.</p>"))
    return Html("".join(parts))


def _render_changes(consent: Consent) -> Html:
    if consent.previous is None:
        return Html("<p>No earlier version was signed by every party.</p>")
    head = (f"<p>Against version {e(consent.previous.version)} "
            f"(<code>{e(consent.previous.fingerprint[:12])}</code>): ")
    changes = consent.changes or []
    if not changes:
        return Html(head + "no change.</p>")
    widening = sum(c.effect == "widening" for c in changes)
    rows = [(_effect(c.effect), code(c.path), _value(c.old), _value(c.new), c.why) for c in changes]
    return Html(f"{head}{len(changes)} change(s), {widening} widening.</p>"
                + table(["effect", "YAML path", "was", "now", "why"], rows))


def _effect(effect: str) -> Html:
    """Widening is what a steward must look at: a red badge; narrowing green; wording plain."""
    return badge(effect == "narrowing", "narrowing", "WIDENING") if effect != "neutral" else e("neutral")


def _value(value: object) -> str:
    text = "-" if value is None else str(value)
    return text if len(text) <= 120 else text[:117] + "..."
