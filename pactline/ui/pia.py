"""The privacy impact assessment page: the same document as the stored Markdown (pactline.pia), laid out as HTML,
with the stored file's sha256 set against the ledger's pia.generated entries so the steward sees whether the file is
the one recorded."""

from __future__ import annotations

from pactline.pia.document import Assessment, Block, Cell, Code, Heading, Para, Table, Verdict
from pactline.pia.generate import StoredPia
from pactline.ui.html import Html, a, badge, code, e, notice, section, short, table, when


def cell(value: Cell) -> Html:
    if isinstance(value, Verdict):
        return badge(value.ok, unknown="NOT MEASURED")
    if isinstance(value, Code):
        return code(value)
    return e(value)


def inline(parts: tuple[Cell, ...]) -> Html:
    return Html("".join(cell(p) for p in parts))


def block(b: Block) -> Html:
    if isinstance(b, Para):
        return Html(f"<p>{inline(b.parts)}</p>")
    if isinstance(b, Heading):
        return Html(f"<h3>{inline(b.text)}</h3>")
    assert isinstance(b, Table)
    return Html('<div class="scroll">' + table(b.headers, [[cell(c) for c in row] for row in b.rows]) + "</div>")


def render_stored(stored: StoredPia, *, markdown_url: str) -> Html:
    """Where the Markdown is, its sha256, and the ledger entry that recorded it."""
    if stored.sha256 is None:
        return Html("<p>No assessment file has been written for this run yet: the approval step writes it before the "
                    "steward is asked, and every publish writes it.</p>")
    recorded = stored.recorded
    if recorded is not None:
        p = recorded.payload or {}
        status = Html(f"{badge(True, 'RECORDED')} ledger entry #{e(recorded.index)} ({code(recorded.event)}, "
                      f"{when(recorded.timestamp)}, written by {code(p.get('trigger') or '-')}) holds this sha256")
    else:
        status = Html(f"{badge(False, no='NOT RECORDED')} no pia.generated entry holds this sha256: the file is not "
                      "the one the ledger recorded")
    return Html(f'<dl class="facts"><dt>file</dt><dd>{code(stored.path)} ({a(markdown_url, "Markdown")}, encrypted at '
                f"rest)</dd><dt>sha256</dt><dd>{short(stored.sha256, 64)}</dd><dt>ledger</dt><dd>{status}</dd>"
                f"<dt>written</dt><dd>{len(stored.entries)} time(s) in this run</dd></dl>")


def render_pia(assessment: Assessment, stored: StoredPia, *, markdown_url: str, review_url: str,
               run_fingerprint: str | None = None) -> Html:
    """The page body; `run_fingerprint` is the agreement fingerprint the run's reports were written under."""
    facts = "".join(f"<dt>{e(name)}</dt><dd>{cell(value)}</dd>" for name, value in assessment.facts)
    parts = [f'<p class="meta">{e(assessment.title)}</p><dl class="facts">{facts}</dl>',
             f'<p>{a(review_url, "Open the review of this run")} (every report, group charts, Data Docs).</p>']
    if run_fingerprint and run_fingerprint != assessment.fingerprint:
        parts.append(notice(f"The agreement changed since this run (the run obeyed fingerprint {run_fingerprint[:12]}, "
                            f"the agreement now has {assessment.fingerprint[:12]}): the declared sections below show the "
                            "agreement as it is now; the stored Markdown shows it as the run obeyed it.", "error"))
    parts.append(section("Stored assessment", render_stored(stored, markdown_url=markdown_url), id_="stored"))
    parts.append('<nav class="sub">' + " ".join(a(f"#{s.id}", s.title) for s in assessment.sections) + "</nav>")
    for s in assessment.sections:
        parts.append(section(s.title, Html("".join(block(b) for b in s.blocks)), id_=s.id))
    return Html("".join(parts))


__all__ = ["render_pia", "render_stored"]
