"""The Ledger page: is the ledger intact, its latest signed checkpoint, recent entries, deletion receipts.

Verification recomputes every leaf and checkpoint (Ledger.verify). Each deletion receipt under
<agreement>/receipts/ is checked like `pactline receipts verify` does: its signature, that its
ledger entry holds exactly it, and its inclusion proof up to a checkpoint the ledger signed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pactline.charts import RELEASED_COLOUR, bar_chart
from pactline.ledger import Entry, Ledger
from pactline.ledger.errors import LedgerError
from pactline.ui.html import (
    Html,
    a,
    badge,
    code,
    details,
    e,
    json_block,
    notice,
    short,
    table,
    url,
    when,
)

RECEIPT_EVENTS = ("purge", "erasure")


@dataclass
class Status:
    ok: bool | None  # None: could not be verified here
    size: int
    reason: str | None = None
    first_bad_index: int | None = None
    checkpoints_checked: int = 0
    latest_checkpoint: dict[str, Any] | None = None  # the latest checkpoint stored
    verified_checkpoint: dict[str, Any] | None = None  # the latest one that verified
    public_key: str | None = None


def status(ledger: Ledger) -> Status:
    size = ledger.size()
    latest = ledger.latest_checkpoint()
    out = Status(None, size, latest_checkpoint=latest.to_dict() if latest else None)
    try:
        result = ledger.verify()
    except LedgerError as err:
        out.reason = f"cannot verify here: {err}"
        return out
    out.ok, out.reason, out.first_bad_index = result.ok, result.reason, result.first_bad_index
    out.checkpoints_checked = result.checkpoints_checked
    out.verified_checkpoint = result.latest_checkpoint.to_dict() if result.latest_checkpoint else None
    try:
        out.public_key = ledger.public_key_pem()
    except LedgerError:
        out.public_key = None
    return out


def recent(ledger: Ledger, *, limit: int = 50, agreements: set[str] | None = None, event: str | None = None,
           window: int = 500) -> list[Entry]:
    """The newest `limit` entries (newest first) of the given agreements (None: all) and event type."""
    size = ledger.size()
    out: list[Entry] = []
    end = size
    while end > 0 and len(out) < limit:
        start = max(0, end - window)
        page = [x for x in ledger.entries(start, end - start, event=event)
                if x.index < end and (agreements is None or x.agreement_id in agreements)]
        out.extend(reversed(page))
        end = start
    return out[:limit]


def event_counts(ledger: Ledger, agreements: set[str] | None = None) -> Counter[str]:
    return Counter(x.event for x in ledger.entries() if agreements is None or x.agreement_id in agreements)


@dataclass
class ReceiptRow:
    path: str
    agreement_id: str
    receipt_id: str | None
    body: dict[str, Any]
    proof: dict[str, Any]
    ledger_index: int | None
    problems: list[str] = field(default_factory=list)
    checked: bool = True

    @property
    def ok(self) -> bool | None:
        return (not self.problems) if self.checked else None


def receipts(root: Any, ledger: Ledger, agreements: Iterable[str], *, limit: int = 100) -> list[ReceiptRow]:
    """Deletion receipts of the given agreements, each verified against the ledger (newest first)."""
    from pactline.retention import receipts as rc

    try:
        key = ledger.public_key()
    except LedgerError:
        key = None
    leaves = None
    rows: list[ReceiptRow] = []
    for agreement_id in sorted(agreements):
        for name in root.ls(f"{agreement_id}/receipts"):
            if not name.endswith(".json"):
                continue
            path = f"{agreement_id}/receipts/{name}"
            doc = rc.parse(root.read_bytes(path))
            body = (doc or {}).get("body") if isinstance(doc, dict) else None
            row = ReceiptRow(path, agreement_id, (body or {}).get("receipt_id"), body or {},
                             (doc or {}).get("inclusion_proof") or {} if isinstance(doc, dict) else {},
                             ((doc or {}).get("ledger") or {}).get("index") if isinstance(doc, dict) else None)
            if key is None:
                row.checked = False
                row.problems.append("no ledger key here to check the signature and proof against")
            else:
                if leaves is None:
                    leaves = rc.ledger_leaves(ledger)
                row.problems = rc.verify_receipt(doc, path, ledger, key, leaves).problems
            rows.append(row)
    rows.sort(key=lambda r: str(r.body.get("purged_at") or ""), reverse=True)
    return rows[:limit]


# -- rendering -------------------------------------------------------------------------------------

def _checkpoint(cp: dict[str, Any] | None) -> Html:
    if not cp:
        return Html("<p>No checkpoint signed yet.</p>")
    return Html(
        f'<dl class="facts"><dt>tree size</dt><dd>{e(cp.get("tree_size"))} entries</dd>'
        f"<dt>root hash</dt><dd><code>{e(cp.get('root_hash'))}</code></dd>"
        f"<dt>signed</dt><dd>{when(cp.get('timestamp'))}</dd>"
        f"<dt>key id</dt><dd><code>{e(cp.get('key_id'))}</code></dd>"
        f"<dt>signature</dt><dd>{short(cp.get('signature'), 24)} (Ed25519)</dd>"
        f"<dt>origin</dt><dd><code>{e(cp.get('origin'))}</code></dd></dl>")


def render_status(st: Status) -> Html:
    if st.ok is None:
        verdict = Html(f"<p>{badge(None, unknown='NOT VERIFIED')} {e(st.reason)}</p>")
    elif st.ok:
        verdict = Html(f"<p>{badge(True, 'VERIFIED')} all {e(st.size)} entries hash to the signed roots; "
                       f"{e(st.checkpoints_checked)} checkpoint signature(s) checked.</p>")
    else:
        verdict = Html(f"<p>{badge(False, no='TAMPERED')} {e(st.reason)}"
                       f"{'' if st.first_bad_index is None else f' (first bad entry: {st.first_bad_index})'}</p>")
    key = details("the ledger's public key (to verify proofs and receipts elsewhere)",
                  Html(f"<pre>{e(st.public_key)}</pre>")) if st.public_key else Html("")
    return Html(f"{verdict}<h3>Latest signed checkpoint</h3>{_checkpoint(st.latest_checkpoint)}{key}")


def _payload_summary(entry: Entry) -> str:
    p = entry.payload or {}
    keys = ("dataset", "check", "passed", "decision", "user", "state", "task_id", "output", "kind", "column",
            "clause", "receipt_id")
    parts = [f"{k}={p[k]}" for k in keys if k in p]
    if "receipt" in p:
        parts.append(f"receipt={(p['receipt'] or {}).get('receipt_id')}")
    return ", ".join(str(x) for x in parts)[:300]


def render_entries(entries: list[Entry], *, base: str) -> Html:
    if not entries:
        return Html("<p>No entries.</p>")
    rows = []
    for x in entries:
        run = (x.payload or {}).get("run_id")
        run_link = a(f"{base}/runs/{url(x.agreement_id, run)}", "run") if run else ""
        rows.append((x.index, when(x.timestamp), code(x.event), x.agreement_id, x.actor or "-", short(x.fingerprint),
                     Html(f"{e(_payload_summary(x))} {run_link}"),
                     details("payload", json_block(x.payload, 4000))))
    return table(["#", "time", "event", "agreement", "actor", "fingerprint", "summary", ""], rows)


def render_counts(counts: Counter[str]) -> Html:
    if not counts:
        return Html("")
    names = [k for k, _ in counts.most_common(15)]
    chart = bar_chart("Entries by event type", names, [("entries", RELEASED_COLOUR, [counts[n] for n in names])],
                      percent=False)
    return Html(f"<figure>{chart}<figcaption>How many entries of each event type the ledger holds "
                "(for the agreements you may read).</figcaption></figure>")


def render_receipts(rows: list[ReceiptRow]) -> Html:
    if not rows:
        return Html("<p>No deletion receipts yet: nothing has been purged or erased.</p>")
    cards = []
    for r in rows:
        b = r.body
        v = b.get("version") or {}
        proof = r.proof
        cp = proof.get("checkpoint") or {}
        path_rows = [(i, code(h)) for i, h in enumerate(proof.get("audit_path") or [])]
        verdict = badge(r.ok, "VERIFIES", "DOES NOT VERIFY", "NOT CHECKED")
        problems = "".join(notice(p, "error") for p in r.problems) if r.checked else notice(r.problems[0])
        cards.append(
            f'<div class="card"><h3><code>{e(r.receipt_id)}</code> {verdict}</h3>'
            f'<dl class="facts"><dt>agreement</dt><dd>{e(r.agreement_id)}</dd>'
            f"<dt>what</dt><dd>{e(v.get('area'))} version <code>{e(v.get('base'))}</code> ({e(v.get('zone'))} zone)</dd>"
            f"<dt>clause</dt><dd><code>{e(b.get('clause'))}</code>, due {e(b.get('due'))}</dd>"
            f"<dt>purged</dt><dd>{when(b.get('purged_at'))} by {e(b.get('actor'))}; key destroyed "
            f"{when(b.get('key_destroyed_at'))}; {e(len(b.get('files') or []))} file(s) deleted</dd>"
            f"<dt>ledger entry</dt><dd>#{e(r.ledger_index)}</dd>"
            f"<dt>inclusion proof</dt><dd>leaf {e(proof.get('leaf_index'))} of a tree of {e(proof.get('tree_size'))}, "
            f"{e(len(proof.get('audit_path') or []))} hash(es) up to root <code>{e(str(cp.get('root_hash', ''))[:16])}</code> "
            f"signed {when(cp.get('timestamp'))}</dd></dl>{problems}"
            f"{details('audit path (RFC 9162)', table(['level', 'sibling hash'], path_rows))}"
            f"{details('the whole receipt', json_block({'body': b, 'inclusion_proof': proof}))}</div>")
    return Html("".join(cards))


def render_ledger(st: Status, entries: list[Entry], receipt_rows: list[ReceiptRow], counts: Counter[str], *,
                  base: str, url_: str, filters: dict[str, str | None]) -> Html:
    event = filters.get("event") or ""
    agreement = filters.get("agreement") or ""
    form = (f'<form method="get" action="{e(url_)}" class="filters">agreement <input name="agreement" '
            f'value="{e(agreement)}" size="20"> event <input name="event" value="{e(event)}" size="20"> '
            f'<button type="submit">filter</button></form>')
    return Html(
        f"<section><h2>Verification</h2>{render_status(st)}</section>"
        f'<section id="receipts"><h2>Deletion receipts ({len(receipt_rows)})</h2>{render_receipts(receipt_rows)}</section>'
        f"<section><h2>Recent entries</h2>{form}{render_counts(counts)}{render_entries(entries, base=base)}</section>")

