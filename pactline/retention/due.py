"""Which versions are due for deletion on a given day, and under which clause of the agreement.

A version is due on the earlier of
- created + retention.<zone>_days                       (clause retention.<zone>_days)
- metadata.expires + retention.after_termination_days + 1 day
                                                         (clause retention.after_termination_days)
and is purged by any run whose clock (as_of) is on or after that day. The agreement is the text the
version was made under (made_under.py), whatever the agreement file says today; a version whose text
is not known is never touched: nothing says it is due.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pactline.agreement import LoadedAgreement, load_agreement
from pactline.errors import AgreementError
from pactline.store.catalog import LIVE_STATES, VersionRecord


@dataclass(frozen=True)
class Due:
    version: VersionRecord
    clause: str
    due: dt.date

    def to_dict(self) -> dict[str, Any]:
        v = self.version
        return {"version_id": v.version_id, "agreement_id": v.agreement_id, "area": v.area, "zone": v.zone,
                "name": v.name, "base": v.base, "created_at": v.created_at, "fingerprint": v.fingerprint,
                "clause": self.clause, "due": self.due.isoformat()}


def due_date(version: VersionRecord, agreement: LoadedAgreement) -> tuple[dt.date, str]:
    retention = agreement.agreement.retention
    by_zone = version.created.date() + dt.timedelta(days=retention.days_for(version.zone))
    after_term = (agreement.agreement.metadata.expires + dt.timedelta(days=retention.after_termination_days + 1))
    if by_zone <= after_term:
        return by_zone, f"retention.{version.zone}_days"
    return after_term, "retention.after_termination_days"


def find_due(versions: Iterable[VersionRecord], text_of: Callable[[VersionRecord], LoadedAgreement | None],
             as_of: dt.date) -> tuple[list[Due], list[VersionRecord]]:
    """(versions due on `as_of`, versions kept because `text_of` knows no agreement text for them)."""
    due: list[Due] = []
    unknown: list[VersionRecord] = []
    for v in versions:
        if v.state not in LIVE_STATES:
            continue
        loaded = text_of(v)
        if loaded is None:
            unknown.append(v)
            continue
        day, clause = due_date(v, loaded)
        if day <= as_of:
            due.append(Due(v, clause, day))
    return due, unknown


def agreement_files(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted(f for f in p.glob("*.y*ml") if f.suffix in (".yaml", ".yml"))
        elif p.exists():
            out.append(p)
    return out


def load_agreements(paths: Iterable[Path]) -> tuple[dict[str, LoadedAgreement], list[str]]:
    """Agreements by id from files and folders; broken files are reported, not fatal (their data is kept).

    Copies of one text (a moved file left behind, a backup) are one agreement; two different texts
    under one id are ambiguous, and neither is used."""
    found: dict[str, LoadedAgreement] = {}
    clashing: set[str] = set()
    errors: list[str] = []
    for path in agreement_files(paths):
        try:
            loaded = load_agreement(path)
        except AgreementError as e:
            errors.append(str(e))
            continue
        if loaded.id in found and found[loaded.id].fingerprint == loaded.fingerprint:
            continue  # the same text twice: the first file read stands for it
        if loaded.id in found or loaded.id in clashing:
            errors.append(f"{path}: agreement id {loaded.id} is defined by more than one file; "
                          "none of them is used for retention")
            found.pop(loaded.id, None)
            clashing.add(loaded.id)
            continue
        found[loaded.id] = loaded
    return found, errors
