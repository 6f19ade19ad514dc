"""The agreement text each version was made under, found by the fingerprint its catalog row records.

Retention follows what the store recorded, never the current folder. A version's rules are those of
the agreement text whose fingerprint the catalog recorded when the version was written, read from the
signed-version history (pactline.parties.history: the canonical text of every version a party signed,
kept in the catalog's own database). Moving, renaming, amending or deleting the agreement file, or
running from another working directory, changes nothing.

Fallback: a text the history lacks (a history lost or never kept, e.g. a text signed on another
deployment) is taken from an agreement file given to the purge only if the file has exactly that
fingerprint: then it is the same text wherever the file sits, and two copies of it cannot disagree.
A version whose text is found nowhere, or whose row has no fingerprint, is kept and reported with
the reason. Guessing from another version of the agreement could delete data before its own text
allows, or keep it past that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pactline.agreement import LoadedAgreement, load_agreement, load_text
from pactline.errors import AgreementError
from pactline.parties.history import SignedVersion, SignedVersions
from pactline.retention.due import agreement_files
from pactline.store.catalog import VersionRecord


@dataclass
class MadeUnder:
    """Agreement texts by (agreement id, fingerprint), and why some versions' texts could not be had."""

    texts: dict[tuple[str, str], LoadedAgreement] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # version id -> why its text is not known
    file_errors: list[str] = field(default_factory=list)  # agreement files read for the fallback that failed

    def of(self, version: VersionRecord) -> LoadedAgreement | None:
        return self.texts.get((version.agreement_id, version.fingerprint or ""))


def made_under(versions: Iterable[VersionRecord], history: SignedVersions,
               files: Iterable[Path] = ()) -> MadeUnder:
    """The text of every version's fingerprint: from `history`, else from one of the agreement `files`
    (read only when the history lacks a text)."""
    versions = list(versions)
    out = MadeUnder()
    wanted = {(v.agreement_id, v.fingerprint) for v in versions if v.fingerprint}
    problems: dict[tuple[str, str], str] = {}
    for agreement_id in sorted({a for a, _ in wanted}):
        for signed in history.versions(agreement_id):
            key = (agreement_id, signed.fingerprint)
            if key in wanted:
                loaded, problem = _from_history(signed)
                if loaded is not None:
                    out.texts[key] = loaded
                else:
                    problems[key] = problem
    if wanted - set(out.texts):
        for loaded in _from_files(files, out.file_errors):
            key = (loaded.id, loaded.fingerprint)
            if key in wanted and key not in out.texts:
                out.texts[key] = loaded
    for v in versions:
        if not v.fingerprint:
            out.missing[v.version_id] = "its catalog row records no agreement fingerprint"
        elif (v.agreement_id, v.fingerprint) not in out.texts:
            out.missing[v.version_id] = problems.get((v.agreement_id, v.fingerprint)) or (
                f"no text of agreement {v.agreement_id} with fingerprint {v.fingerprint[:12]} is stored (signed-"
                "version history) or given as an agreement file; give that file with --agreements "
                "(or $PACTLINE_AGREEMENTS) to purge it")
    return out


def _from_history(signed: SignedVersion) -> tuple[LoadedAgreement | None, str]:
    source = f"<signed text of {signed.agreement_id} v{signed.version}, fingerprint {signed.fingerprint[:12]}>"
    try:
        loaded = load_text(signed.canonical, source)
    except AgreementError as e:  # a text kept by an older Pactline that this one no longer accepts
        return None, f"its agreement text {source} no longer validates: {e}"
    if loaded.fingerprint != signed.fingerprint or loaded.id != signed.agreement_id:
        return None, f"the stored agreement text {source} does not match its fingerprint (history altered?)"
    return loaded, ""


def _from_files(paths: Iterable[Path], errors: list[str]) -> list[LoadedAgreement]:
    found = []
    for path in agreement_files(paths):
        try:
            found.append(load_agreement(path))
        except AgreementError as e:
            errors.append(str(e))
    return found
