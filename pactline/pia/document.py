"""The privacy impact assessment as a document: facts, then sections of paragraphs, sub-headings and tables.

The builder (pactline.pia.build) decides what the assessment says; the Markdown writer (pactline.pia.markdown) and
the steward page (pactline.ui.pia) only lay it out, so the stored file and the page can never say different things.
Cells and paragraph parts are plain text, `Code` (an identifier: a column, party, clause or event name, shown
verbatim) or a `Verdict` (pass, fail, or nothing measured): each renderer escapes them in its own way.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class Code(str):
    """An identifier from the agreement or from Pactline (column, party, clause, event): shown verbatim."""

    __slots__ = ()


@dataclass(frozen=True)
class Verdict:
    ok: bool | None  # None: not measured (yet)

    def __str__(self) -> str:
        return {True: "PASS", False: "FAIL", None: "n/a"}[self.ok]


Cell = str | Code | Verdict


@dataclass(frozen=True)
class Para:
    parts: tuple[Cell, ...]


@dataclass(frozen=True)
class Heading:
    text: tuple[Cell, ...]


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


Block = Para | Heading | Table


@dataclass(frozen=True)
class Section:
    id: str  # anchor on the page
    title: str
    blocks: tuple[Block, ...] = ()


@dataclass(frozen=True)
class Assessment:
    agreement_id: str
    dataset: str
    run_id: str | None
    run_folder: str | None
    fingerprint: str  # of the agreement text the assessment was built from
    title: str
    facts: tuple[tuple[str, Cell], ...] = ()
    sections: tuple[Section, ...] = field(default_factory=tuple)


def para(*parts: Cell) -> Para:
    return Para(tuple(parts))


def heading(*parts: Cell) -> Heading:
    return Heading(tuple(parts))


def table(headers: tuple[str, ...] | list[str], rows: list[tuple[Cell, ...]] | list[list[Cell]]) -> Table:
    return Table(tuple(headers), tuple(tuple(r) for r in rows))


__all__ = ["Assessment", "Block", "Cell", "Code", "Heading", "Para", "Section", "Table", "Verdict", "heading",
           "para", "table"]
