"""Deletion attestations: the recipient proves it deleted what it received, the provider keeps the proof.

Recipient: every received release its own retention purged gets an attestation signed with the
recipient party's key (Ed25519), written to the exchange. Provider: each attestation that verifies
against the key the signed agreement names for the recipient becomes one `deletion.attested` ledger
entry; a release the recipient took a key for, past its due date plus ATTESTATION_GRACE_DAYS without an
attestation, is overdue and opens one incident.

A release falls due under the agreement text it was made under (pactline.retention.made_under), as its
purge does: an amendment that shortens or lengthens retention does not move the due date of a release
already made. A release whose text is found nowhere has no due date and is never called overdue.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pactline.agreement import LoadedAgreement
from pactline.delivery.fetch import RECEIVED
from pactline.parties import PartyKeys
from pactline.parties.party_keys import declared_keys, sign_statement, statement_verifies
from pactline.retention.due import due_date
from pactline.retention.made_under import MadeUnder, made_under
from pactline.store import DataRoot, VersionRecord
from pactline.store.exchange import attestation_path, open_exchange

CONTEXT = b"pactline-deletion-attestation/v1\n"
ATTESTATION_GRACE_DAYS = 7
Record = Callable[[str, dict[str, Any]], None]


def version_name(version: VersionRecord) -> str:
    """The release's version as both sides name it (the last folder of the version's base)."""
    return version.base.rstrip("/").rsplit("/", 1)[-1]


def attest_deletions(agreements: Mapping[str, LoadedAgreement], purged: Iterable[VersionRecord],
                     party_keys: PartyKeys, record_for: Callable[[LoadedAgreement], Record],
                     exchange: DataRoot | None = None) -> list[str]:
    """The recipient's side: an attestation on the exchange for each purged received release (once)."""
    exchange = exchange or open_exchange()
    written = []
    for v in purged:
        loaded = agreements.get(v.agreement_id)
        output = next((o for o in loaded.agreement.outputs if o.id == v.name), None) if loaded else None
        if v.area != RECEIVED or v.state != "purged" or output is None:
            continue
        path = attestation_path(v.agreement_id, v.name, version_name(v), output.recipient)
        key = party_keys.private(output.recipient)
        if key is None or exchange.exists(path):
            continue
        body = {"agreement_id": v.agreement_id, "output": v.name, "version": version_name(v),
                "party": output.recipient, "local_version_id": v.version_id, "receipt_id": v.receipt_id,
                "clause": v.purge_clause, "purged_at": v.purged_at}
        signature = sign_statement(key, CONTEXT, body)
        exchange.write_bytes(path, json.dumps({"body": body, "signature": signature}, indent=2).encode())
        record_for(loaded)("deletion.attestation_sent", {**body, "exchange_path": path})
        written.append(path)
    return written


def collect_attestations(loaded: LoadedAgreement, record: Record, already: set[tuple[str, str, str]],
                         exchange: DataRoot | None = None) -> list[dict[str, Any]]:
    """The provider's side: every new attestation that verifies is recorded as `deletion.attested`;
    `already` holds (output, version, party) recorded before."""
    exchange = exchange or open_exchange()
    keys = declared_keys(loaded)
    new = []
    for output in loaded.agreement.outputs:
        folder = f"{loaded.id}/attestations/{output.id}"
        for version in exchange.ls(folder):
            path = attestation_path(loaded.id, output.id, version, output.recipient)
            if (output.id, version, output.recipient) in already or not exchange.exists(path):
                continue
            body = _verified(exchange, path, keys[output.recipient].text, output.id, version, output.recipient)
            if body is None:
                record("deletion.attestation_refused", {"output": output.id, "version": version,
                                                         "party": output.recipient, "path": path})
                continue
            record("deletion.attested", body)
            already.add((output.id, version, output.recipient))
            new.append(body)
    return new


def _verified(exchange: DataRoot, path: str, key_text: str | None, output: str, version: str,
              party: str) -> dict[str, Any] | None:
    try:
        doc = json.loads(exchange.read_raw(path))
        body, signature = doc["body"], str(doc["signature"])
        if key_text is None or (body.get("output"), body.get("version"), body.get("party")) != (output, version, party):
            return None
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return body if statement_verifies(key_text, CONTEXT, body, signature) else None


@dataclass(frozen=True)
class Delivery:
    output: str
    version: str
    version_id: str
    recipient: str
    due: dt.date | None  # None: the agreement text the release was made under is not known
    key_released: bool  # the recipient took the key: it holds the data
    attested: bool
    overdue: bool

    @property
    def state(self) -> str:
        if self.attested:
            return "deletion attested"
        if self.overdue:
            return "OVERDUE"
        return "received" if self.key_released else "on the exchange"


def texts_made_under(loaded: LoadedAgreement, releases: Iterable[VersionRecord], catalog: Any) -> MadeUnder:
    """The agreement text each release was made under: the catalog's signed-version history, else the
    current file when its fingerprint is the release's."""
    from pactline.parties.history import SignedVersions

    return made_under(releases, SignedVersions(catalog.db.url), [Path(loaded.source)])


def deliveries(loaded: LoadedAgreement, releases: Iterable[VersionRecord], events: Iterable[tuple[str, dict]],
               today: dt.date, texts: MadeUnder) -> list[Delivery]:
    """Each release of the agreement: received (a key was released), attested, or overdue; each due under
    the text it was made under (`texts`, from texts_made_under)."""
    events = list(events)
    released = {p.get("version_id") for e, p in events if e == "key.released"}
    attested = {(p.get("output"), p.get("version")) for e, p in events if e == "deletion.attested"}
    out = []
    for v in releases:
        output = next((o for o in loaded.agreement.outputs if o.id == v.name), None)
        if v.agreement_id != loaded.id or v.area != "shared" or output is None:
            continue
        made = texts.of(v)
        due = due_date(v, made)[0] if made is not None else None
        got = v.version_id in released
        done = (v.name, version_name(v)) in attested
        overdue = got and not done and due is not None and today > due + dt.timedelta(days=ATTESTATION_GRACE_DAYS)
        out.append(Delivery(v.name, version_name(v), v.version_id, output.recipient, due, got, done, overdue))
    return out


def open_overdue_incidents(loaded: LoadedAgreement, found: Iterable[Delivery], record: Record,
                           opened: set[str], now: dt.datetime) -> list[str]:
    """One incident per overdue release (`opened`: version ids that have one already)."""
    hours = loaded.agreement.incident_response.notification_deadline_hours
    new = []
    for d in found:
        if not d.overdue or d.version_id in opened:
            continue
        record("incident.opened", {
            "kind": "deletion.overdue", "dataset": None, "output": d.output, "version_id": d.version_id,
            "summary": f"{d.recipient} has not attested deleting {d.output} {d.version}, due {d.due} "
                       f"(+{ATTESTATION_GRACE_DAYS} days grace)", "report": "",
            "opened_at": now.isoformat(), "notify_by": (now + dt.timedelta(hours=hours)).isoformat(),
            "contacts": [c.email for c in loaded.agreement.incident_response.contacts]})
        opened.add(d.version_id)
        new.append(d.version_id)
    return new


DELIVERY_EVENTS = ("key.released", "deletion.attested", "incident.opened")


def delivery_events(ledger: Any, agreement_id: str) -> list[tuple[str, dict[str, Any]]]:
    return [(x.event, x.payload or {}) for x in ledger.entries(agreement_id=agreement_id)
            if x.event in DELIVERY_EVENTS]


def settle(agreements: Mapping[str, LoadedAgreement], *, catalog: Any, ledger: Any, today: dt.date,
           party_keys: PartyKeys, actor: str, exchange: DataRoot | None = None) -> dict[str, Any]:
    """What a retention run does about deliveries, on either side: attest the received releases this
    deployment purged; record the attestations the recipients sent; open an incident per overdue release."""
    exchange = exchange or open_exchange()

    def record_for(loaded: LoadedAgreement) -> Record:
        return lambda event, payload: ledger.append(event, agreement_id=loaded.id, fingerprint=loaded.fingerprint,
                                                    actor=actor, payload=payload)

    sent = attest_deletions(agreements, (v for v in catalog.versions(states=["purged"]) if v.area == RECEIVED),
                            party_keys, record_for, exchange)
    attested, overdue = [], []
    now = dt.datetime.now(dt.UTC)
    for loaded in agreements.values():
        events = delivery_events(ledger, loaded.id)
        already = {(p.get("output"), p.get("version"), p.get("party")) for e, p in events if e == "deletion.attested"}
        new = collect_attestations(loaded, record_for(loaded), already, exchange)
        attested += new
        events += [("deletion.attested", b) for b in new]
        opened = {p.get("version_id") for e, p in events if e == "incident.opened" and p.get("kind") == "deletion.overdue"}
        releases = catalog.versions(loaded.id)
        found = deliveries(loaded, releases, events, today, texts_made_under(loaded, releases, catalog))
        overdue += open_overdue_incidents(loaded, found, record_for(loaded), opened, now)
    return {"attestations_sent": sent, "attested": len(attested), "overdue_incidents": overdue}
