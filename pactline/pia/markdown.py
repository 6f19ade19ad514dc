"""A privacy impact assessment as Markdown (GitHub-flavoured tables), the file stored under the run's reports.

Text from the agreement is escaped so it reads as written: Markdown punctuation gets a backslash, `<`, `>` and `&`
become entities (a renderer shows no HTML from it), newlines become spaces (a cell stays one table cell).
Identifiers are code spans, fenced with more backticks than they hold.
"""

from __future__ import annotations

import re

from pactline.pia.document import Assessment, Block, Cell, Code, Heading, Para, Table, Verdict

# what can start emphasis, code, a link or strikethrough anywhere, or end a table cell
_PUNCTUATION = re.compile(r"([\\`*_\[\]|~])")
# what makes a line a list item, heading or quote when a paragraph starts with it
_BLOCK_START = re.compile(r"^(?:([-+#>])|(\d+)([.)]))")


def _flat(text: str) -> str:
    return " ".join(str(text).split())


def text(value: str) -> str:
    # runs of whitespace (newlines too) become one space; the spaces between a paragraph's parts stay
    escaped = re.sub(r"\s+", " ", str(value)).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _PUNCTUATION.sub(r"\\\1", escaped)


def code(value: str) -> str:
    flat = _flat(value).replace("|", "\\|")  # a pipe would end a table cell even inside a code span
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}" if flat else "-"


def cell(value: Cell) -> str:
    if isinstance(value, Verdict):
        return f"**{value}**"
    if isinstance(value, Code):
        return code(value)
    return text(str(value))


def inline(parts: tuple[Cell, ...]) -> str:
    return "".join(cell(p) for p in parts)


def _table(t: Table) -> list[str]:
    lines = ["| " + " | ".join(text(h) for h in t.headers) + " |", "|" + "---|" * len(t.headers)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in t.rows]
    return lines


def _block(block: Block) -> list[str]:
    if isinstance(block, Para):
        # a backslash escapes the marker itself; in "1." it goes before the dot (a digit cannot be escaped)
        line = _BLOCK_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", inline(block.parts), count=1)
        return [line, ""]
    if isinstance(block, Heading):
        return [f"### {inline(block.text)}", ""]
    return [*_table(block), ""]


def to_markdown(assessment: Assessment) -> str:
    lines = [f"# {text(assessment.title)}", ""]
    lines += [f"- **{text(name)}**: {cell(value)}" for name, value in assessment.facts]
    lines.append("")
    for section in assessment.sections:
        lines += [f"## {text(section.title)}", ""]
        for block in section.blocks:
            lines += _block(block)
    return "\n".join(lines).rstrip() + "\n"


__all__ = ["code", "text", "to_markdown"]
