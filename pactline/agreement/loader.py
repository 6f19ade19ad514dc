"""Read an agreement YAML file safely and validate it, locating every problem by path and line.

Hostile input is expected: the file size is capped before parsing, bytes must be UTF-8,
YAML anchors/aliases are refused (no billion-laughs expansion), duplicate keys are
refused (YAML would silently keep the last), and nesting depth is bounded.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from pactline.agreement.model import Agreement
from pactline.errors import AgreementError, Problem

MAX_BYTES = 2 * 1024 * 1024  # an agreement is a few KB; anything this big is a mistake or an attack
MAX_DEPTH = 64

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class LoadedAgreement:
    agreement: Agreement
    source: str  # the file it came from
    fingerprint: str  # sha256 hex of the canonical form

    @property
    def id(self) -> str:
        return self.agreement.metadata.id

    @property
    def base_dir(self) -> Path:
        return Path(self.source).resolve().parent


class _Refused(Exception):
    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.line = line


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses aliases and anchors (the only way YAML can expand exponentially)."""

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Refused(
                f"YAML aliases (*{event.anchor}) are not allowed in an agreement; write the value out in full",
                event.start_mark.line + 1,
            )
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise _Refused(
                f"YAML anchors (&{event.anchor}) are not allowed in an agreement; write the value out in full",
                event.start_mark.line + 1,
            )
        return super().compose_node(parent, index)


def _to_python(node: yaml.Node, loader: _Loader, loc: Loc, lines: dict[Loc, int], depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise _Refused(f"nesting deeper than {MAX_DEPTH} levels", node.start_mark.line + 1)
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Refused("mapping keys must be plain values", key_node.start_mark.line + 1)
            key = _construct(loader, key_node)
            if isinstance(key, (list, dict)) or key is None:
                raise _Refused(f"invalid mapping key {key!r}", key_node.start_mark.line + 1)
            # a key is the text as written: YAML 1.1 would turn `010` into 8 and `no` into False
            key = key_node.value if isinstance(key_node.value, str) else str(key)
            if key in out:
                first = lines.get((*loc, key))
                raise _Refused(
                    f"duplicate key {key!r} (first at line {first}); YAML would silently keep only the last",
                    key_node.start_mark.line + 1,
                )
            lines[(*loc, key)] = key_node.start_mark.line + 1
            out[key] = _to_python(value_node, loader, (*loc, key), lines, depth + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(v, loader, (*loc, i), lines, depth + 1) for i, v in enumerate(node.value)]
    return _construct(loader, node)


def _construct(loader: _Loader, node: yaml.Node) -> Any:
    try:
        return loader.construct_object(node)
    except ValueError as e:  # e.g. an integer of thousands of digits (Python's int conversion limit)
        raise _Refused(f"a value cannot be read ({str(e).split(';')[0][:120]}); write a shorter value",
                       node.start_mark.line + 1) from None


def parse_yaml(text: str, source: str) -> tuple[Any, dict[Loc, int]]:
    """YAML text -> (plain data, {path: line}). Raises AgreementError on anything unsafe or malformed."""
    loader = _Loader(text)
    lines: dict[Loc, int] = {}
    try:
        node = loader.get_single_node()
        if node is None:
            raise _Refused("the file is empty; an agreement starts with 'apiVersion: pactline/v1'", 1)
        data = _to_python(node, loader, (), lines)
    except _Refused as e:
        raise AgreementError(source, [Problem("", e.line, str(e))]) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        msg = " ".join(x for x in (e.context, e.problem) if x) or "malformed YAML"
        raise AgreementError(source, [Problem("", line, f"not valid YAML: {msg}")]) from None
    except yaml.YAMLError as e:
        raise AgreementError(source, [Problem("", None, f"not valid YAML: {e}")]) from None
    except RecursionError:
        raise AgreementError(source, [Problem("", None, "nesting too deep to be an agreement")]) from None
    finally:
        loader.dispose()
    return data, lines


def read_text(path: str | Path) -> str:
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as e:
        raise AgreementError(str(path), [Problem("", None, f"cannot read file: {e.strerror}")]) from None
    if size > MAX_BYTES:
        raise AgreementError(
            str(path),
            [Problem("", None, f"file is {size / 1e6:.1f} MB; an agreement may be at most {MAX_BYTES // 2**20} MiB")],
        )
    raw = p.read_bytes()
    return decode(raw, str(path))


def decode(raw: bytes, source: str) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise AgreementError(
            source, [Problem("", line, f"not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start}); save the file as UTF-8")]
        ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise AgreementError(source, [Problem("", line, "file contains NUL bytes; it is binary, not YAML")])
    return text


def _path_str(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _locate(loc: tuple[Any, ...], data: Any, lines: dict[Loc, int]) -> tuple[Loc, int | None]:
    """Follow a pydantic error location through the raw data, skipping union tags it adds."""
    found: Loc = ()
    cur = data
    for part in loc:
        if (isinstance(cur, dict) and part in cur) or (isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur)):
            cur = cur[part]
        else:
            continue  # a tag like 'pseudonymise' or 'function-after[...]' that is not in the YAML
        found = (*found, part)
    return found, lines.get(found) or lines.get(())


def _message(err: dict[str, Any], found: Loc) -> str:
    kind, msg, loc = err["type"], err["msg"], err["loc"]
    if kind == "missing":
        return f"missing required field '{loc[-1]}'"
    if kind == "extra_forbidden":
        return f"unknown field '{loc[-1]}' is not part of pactline/v1 (check the spelling; unknown fields are rejected)"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        return f"unknown {ctx.get('discriminator', 'kind').strip(chr(39))} {ctx.get('tag')!r}; choose one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return f"missing field {err.get('ctx', {}).get('discriminator', 'kind')} that says which variant this is"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    return msg


def validate_data(data: Any, lines: dict[Loc, int], source: str) -> Agreement:
    if not isinstance(data, dict):
        found = type(data).__name__ if data is not None else "nothing"
        raise AgreementError(
            source, [Problem("", 1, f"the agreement must be a YAML mapping (key: value) at the top level, found {found}")]
        )
    try:
        agreement = Agreement.model_validate(data, context={"defer_references": True})
    except ValidationError as e:
        problems = []
        for err in e.errors(include_url=False):
            found, line = _locate(err["loc"], data, lines)
            path = _path_str(found)
            problems.append(Problem(path, line, _message(err, found)))
        problems.sort(key=lambda p: (p.line or 0, p.path))
        raise AgreementError(source, problems) from None
    problems = []
    for loc, msg in agreement.reference_problems():
        found, line = _locate(loc, data, lines)
        problems.append(Problem(_path_str(found), line, msg))
    if problems:
        problems.sort(key=lambda p: (p.line or 0, p.path))
        raise AgreementError(source, problems)
    return agreement


def canonical_text(agreement: Agreement) -> str:
    """The canonical form: the validated model as JSON with sorted keys and no spaces (also valid YAML,
    so a kept canonical text loads again with load_text)."""
    return json.dumps(
        agreement.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def fingerprint(agreement: Agreement) -> str:
    """SHA-256 of the canonical form.

    Comments, key order, quoting and defaults written out or left implicit do not change it;
    any change of meaning does.
    """
    return hashlib.sha256(canonical_text(agreement).encode("utf-8")).hexdigest()


def load_text(text: str, source: str = "<string>") -> LoadedAgreement:
    data, lines = parse_yaml(text, source)
    agreement = validate_data(data, lines, source)
    return LoadedAgreement(agreement, source, fingerprint(agreement))


def load_agreement(path: str | Path) -> LoadedAgreement:
    """Read, validate and fingerprint an agreement file. Raises AgreementError listing every problem."""
    return load_text(read_text(path), str(path))
