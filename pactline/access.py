"""The read gate: a stored version is decrypted only for a principal the agreement grants `read` on
its zone, and every attempt, granted or refused, is a ledger entry.

The version is found in the catalog (its agreement id, zone and the fingerprint it was written
under); the agreement is the current file with that id, and it must be signed by every party and
in force on the date of the read. If the agreement was amended since the version was written, the
current grants apply (the parties signed them last: a grant they withdrew is withdrawn for old
data too, one they added covers old data too); the entry then names both fingerprints.

Ledger events (no data value, ever: ids, zones, counts, paths relative to the data root):

    data.read           version_id, zone, area, name, principal, path, rows, columns, bytes, as_of,
                        granted_by (the access clause, e.g. access[2], and that grant's terms)
    data.read_refused   clause, reason, principal, zone, version_id, path, as_of

The date of the read is today (UTC); it may be set later, to see what a later date allows, but
never earlier: a grant that has ended cannot be revived by a flag.

The principal is declared by whoever reads (`--as`), not authenticated: the gate makes reads
accountable and keeps honest tools inside the agreement; the KEK itself must still be kept from
anyone the agreement does not name.
"""

from __future__ import annotations

import datetime as dt
import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from pactline.agreement import LoadedAgreement
from pactline.agreement.model import AccessGrant
from pactline.errors import DataError, PactlineError, PolicyViolation
from pactline.ledger import Ledger
from pactline.parties.signatures import require_signed
from pactline.policy import AccessRefused, Policy
from pactline.store import Catalog, DataRoot, VersionRecord

READ, REFUSED = "data.read", "data.read_refused"
PERMISSION = "read"
TABLE_SUFFIXES = (".parquet", ".csv")
ENV_PRINCIPAL = "PACTLINE_PRINCIPAL"


def today() -> dt.date:
    """The date a read happens (UTC). A read's clock may be set later than this, never earlier."""
    return dt.datetime.now(dt.UTC).date()


# -- paths ---------------------------------------------------------------------------------------

def relative_path(root: DataRoot, path: str, cwd: Path | None = None) -> str:
    """`path` relative to the data root. Accepted: the root's URL or folder followed by the path (what
    `pactline run` prints), a path relative to the current directory that lies inside a local root
    (`.pactline/data/...`), or a path relative to the root. Nothing outside the root is reachable."""
    for prefix in (root.url.rstrip("/") + "/", root.root.rstrip("/") + "/"):
        if path.startswith(prefix):
            return _inside(path[len(prefix):], path)
    if root.is_local:
        here = (cwd or Path.cwd()) / path
        try:
            rel = here.resolve().relative_to(Path(root.root).resolve()).as_posix()
        except ValueError:
            rel = None
        if rel is not None:
            rel = "" if rel == "." else rel
            try:
                direct: str | None = _inside(path, path)
            except DataError:
                direct = None
            if root.exists(rel) or direct is None or not root.exists(direct):
                return rel
    return _inside(path, path)


def _inside(rel: str, given: str) -> str:
    parts = [p for p in rel.replace(os.sep, "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise DataError(f"{given}: '..' is not allowed in a path under the data root")
    return "/".join(parts)


def data_file(root: DataRoot, catalog: Catalog, rel: str, given: str) -> str:
    """The table file `rel` names: itself, or the one table file of the version folder it names."""
    rel = rel.rstrip("/")
    if rel.endswith(TABLE_SUFFIXES) and root.exists(rel):
        return rel
    version = catalog.at(rel)
    if version is not None:
        tables = [f.path for f in catalog.files(version.version_id) if f.path.endswith(TABLE_SUFFIXES)]
        if len(tables) == 1:
            return tables[0]
        preferred = [p for p in tables if p.endswith("/data.parquet")]
        if len(preferred) == 1:
            return preferred[0]
        if tables:
            listing = ", ".join(posixpath.basename(p) for p in tables)
            raise DataError(f"{given}: version {version.version_id} holds {len(tables)} tables ({listing}); "
                            "name one of them")
        raise DataError(f"{given}: version {version.version_id} holds no Parquet or CSV table to read")
    if not root.exists(rel):
        raise DataError(f"{given}: no such file under the data root {root.url}")
    if root.exists(rel + "/data.parquet"):  # a release folder the catalog does not know: refused below
        return rel + "/data.parquet"
    raise DataError(f"{given}: not a Parquet or CSV file, or a version folder holding one")


# -- the gate ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GrantedRead:
    path: str  # relative to the data root
    version: VersionRecord
    loaded: LoadedAgreement
    clause: str  # e.g. "access[2]"
    grant: AccessGrant
    principal: str
    as_of: dt.date
    notes: list[str] = field(default_factory=list)  # for the reader (e.g. the agreement was amended)

    @property
    def amended(self) -> bool:
        return self.version.fingerprint != self.loaded.fingerprint


class ReadGate:
    """Decides reads for one data root against the agreements given (by id) and records each decision."""

    def __init__(self, root: DataRoot, ledger: Ledger, agreements: Mapping[str, LoadedAgreement], *,
                 actor: str = "cli:read", where: str = "the agreements folder"):
        self.root = root
        self.catalog = root.vault.catalog
        self.ledger = ledger
        self.agreements = agreements
        self.actor = actor
        self.where = where  # how to name the agreements folder in a refusal

    def authorize(self, rel: str, principal: str | None, as_of: dt.date) -> GrantedRead:
        """The grant under which `principal` may read the file `rel` on `as_of`, or PolicyViolation
        (recorded as data.read_refused before it is raised)."""
        record = self.catalog.file(rel)
        version = self.catalog.get(record.version_id) if record is not None and record.version_id else None
        loaded = self.agreements.get(version.agreement_id) if version is not None else None

        def refuse(clause: str, reason: str, message: str) -> PolicyViolation:
            self.ledger.append(
                REFUSED, agreement_id=version.agreement_id if version else "*",
                fingerprint=loaded.fingerprint if loaded else (version.fingerprint if version else None),
                actor=self.actor,
                payload={"clause": clause, "reason": reason, "principal": principal,
                         "zone": version.zone if version else None,
                         "version_id": version.version_id if version else None,
                         "path": rel, "as_of": as_of.isoformat()})
            return PolicyViolation(clause, message)

        if version is None:
            raise refuse("access", "unknown_version",
                         f"{rel} is not a file of any version in the catalog {self.catalog.url}; no agreement "
                         "governs it, so it is not read")
        if as_of < today():
            raise refuse("access", "backdated",
                         f"a read happens today ({today()}); its date may be set later (to see what a later "
                         f"date allows) but not earlier ({as_of}): a grant that has ended stays ended")
        if not principal:
            raise refuse("access", "no_principal",
                         f"reading {rel} ({version.zone} zone of {version.agreement_id}) needs the principal "
                         f"you read as: give --as PRINCIPAL or set ${ENV_PRINCIPAL} to a principal the "
                         "agreement's access: section grants read on that zone")
        if loaded is None:
            raise refuse("access", "no_agreement",
                         f"version {version.version_id} belongs to agreement {version.agreement_id}, which no "
                         f"valid agreement file in {self.where} defines; without its access: clause nothing "
                         "is read")
        if version.state != "live":
            raise refuse("retention", "not_live",
                         f"version {version.version_id} is {version.state}, not live; it is not read")
        policy = Policy(loaded)
        try:
            require_signed(loaded)
            policy.require_in_force(as_of)
            index, grant = policy.require_access(principal, version.zone, PERMISSION, as_of)
        except AccessRefused as e:
            raise refuse(e.clause, e.reason, str(e).removesuffix(f" (clause: {e.clause})")) from None
        except PolicyViolation as e:
            reason = "unsigned" if e.clause == "parties" else "not_in_force"
            raise refuse(e.clause, reason, str(e).removesuffix(f" (clause: {e.clause})")) from None
        notes = []
        if version.fingerprint != loaded.fingerprint:
            was = (version.fingerprint or "unknown")[:12]
            notes.append(f"{version.version_id} was written under agreement {loaded.id} fingerprint {was}; "
                         f"the current version {loaded.agreement.metadata.version} (fingerprint "
                         f"{loaded.fingerprint[:12]}), signed by every party, decides who reads it")
        return GrantedRead(rel, version, loaded, f"access[{index}]", grant, principal, as_of, notes)

    def load(self, granted: GrantedRead) -> pa.Table:
        """The decrypted table; a failure after the grant is recorded as a read of nothing."""
        try:
            if granted.path.endswith(".csv"):
                return self._read_csv(granted)
            return self.root.read_table(granted.path)
        except (PactlineError, pa.ArrowException, OSError) as e:
            self.record(granted, rows=0, columns=0, nbytes=0, failed=type(e).__name__)
            if isinstance(e, PactlineError):
                raise
            # Arrow's message may quote a line of the file: name the file and the error type only
            raise DataError(f"{granted.path}: cannot be read ({type(e).__name__})") from None

    def _read_csv(self, granted: GrantedRead) -> pa.Table:
        import pyarrow.csv as pacsv

        delimiter = ","
        ds = next((d for d in granted.loaded.agreement.datasets if d.id == granted.version.name), None)
        if ds is not None:
            delimiter = ds.source.delimiter
        with self.root.open_read(granted.path) as fh:
            header = pacsv.open_csv(fh, parse_options=pacsv.ParseOptions(delimiter=delimiter)).schema.names
            fh.seek(0)
            # every column as text: the copy the partner sent, not a guess at its types
            return pacsv.read_csv(fh, parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
                                  convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header}))

    def record(self, granted: GrantedRead, *, rows: int, columns: int, nbytes: int,
               exported_to: str | None = None, failed: str | None = None) -> None:
        """data.read: what was returned (counts, never values), to whom, under which grant."""
        v, g = granted.version, granted.grant
        payload: dict[str, Any] = {
            "version_id": v.version_id, "zone": v.zone, "area": v.area, "name": v.name,
            "principal": granted.principal, "path": granted.path, "as_of": granted.as_of.isoformat(),
            "rows": rows, "columns": columns, "bytes": nbytes,
            "granted_by": {"clause": granted.clause, "principal": g.principal, "zone": g.zone,
                           "permissions": list(g.permissions), "valid_until": g.valid_until.isoformat()},
        }
        if granted.amended:
            payload["version_fingerprint"] = v.fingerprint
        if exported_to is not None:
            payload["exported_to"] = exported_to
        if failed is not None:
            payload["failed"] = failed
        self.ledger.append(READ, agreement_id=v.agreement_id, fingerprint=granted.loaded.fingerprint,
                           actor=self.actor, payload=payload)
