"""`pactline diff OLD NEW` / `pactline diff FILE`: an amendment's changes, each widening, narrowing or neutral.

A report, not a gate: exit 0 even with widening changes. With widening changes it lists the
releases already made under the old terms, the ones a DPO may have to revisit. Two files of
different agreements (metadata.id) are refused with exit 2.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from pactline.agreement import Agreement, LoadedAgreement, fingerprint, load_agreement, load_text
from pactline.agreement.diff import Change, counts, diff_agreements, render_text
from pactline.errors import PactlineError
from pactline.parties import SignedVersions

PURGED_STATES = ("purging", "purged")


def _last_signed(loaded: LoadedAgreement) -> Agreement | None:
    """The last version every party signed, other than this very text (None: none recorded)."""
    signed = SignedVersions().last_complete(loaded.id, exclude=loaded.fingerprint)
    return load_text(signed.canonical, f"signed version {signed.version}").agreement if signed else None


def releases_under(agreement_id: str, fingerprint: str, catalog: Any = None) -> list[dict[str, Any]]:
    """Releases (shared-area versions) made under the terms with this fingerprint, purged ones marked."""
    if catalog is None:
        from pactline.store.catalog import Catalog  # the store is only needed when something widened

        catalog = Catalog()
    return [{"version_id": v.version_id, "output": v.name, "created_at": v.created_at, "state": v.state,
             "purged": v.state in PURGED_STATES}
            for v in catalog.versions(agreement_id) if v.area == "shared" and v.fingerprint == fingerprint]


def _terms(agreement: Agreement) -> dict[str, str]:
    return {"id": agreement.metadata.id, "version": agreement.metadata.version, "fingerprint": fingerprint(agreement)}


def _report(old: dict[str, str], new: dict[str, str], changes: list[Change],
            releases: list[dict[str, Any]]) -> dict[str, Any]:
    return {"old": old, "new": new, "changes": [c.to_dict() for c in changes], **counts(changes),
            "releases_under_old_terms": releases}


def _print_text(old: dict[str, str], new: dict[str, str], changes: list[Change],
                releases: list[dict[str, Any]]) -> None:
    print(f"{old['id']}: {old['version']} ({old['fingerprint'][:12]}) -> {new['version']} ({new['fingerprint'][:12]})")
    print(render_text(changes))
    if not any(c.effect == "widening" for c in changes):
        return
    print(f"\nreleases already made under the old terms ({old['fingerprint'][:12]}): {len(releases) or 'none'}")
    for r in releases:
        mark = "  (purged)" if r["purged"] else ""
        print(f"  {r['version_id']}  {r['output']}  {r['created_at']}  {r['state']}{mark}")


def _versions(args: argparse.Namespace) -> tuple[Agreement, Agreement, str]:
    """(old, new, what old is): two files, or one file and the last version every party signed."""
    if args.new is not None:
        return load_agreement(args.old).agreement, load_agreement(args.new).agreement, args.old
    loaded = load_agreement(args.old)
    signed = _last_signed(loaded)
    if signed is None:
        raise PactlineError(f"no earlier version of {loaded.id} signed by every party is recorded here; "
                            "compare two files with `pactline diff OLD NEW`")
    return signed, loaded.agreement, "the last signed version"


def _diff(args: argparse.Namespace) -> int:
    old, new, old_name = _versions(args)
    if old.metadata.id != new.metadata.id:
        raise PactlineError(f"{old_name} is agreement {old.metadata.id!r} but {args.new or args.old} is "
                            f"{new.metadata.id!r}; a diff compares two versions of one agreement (same metadata.id)")
    changes = diff_agreements(old, new)
    old_terms, new_terms = _terms(old), _terms(new)
    widening = any(c.effect == "widening" for c in changes)
    releases = releases_under(old_terms["id"], old_terms["fingerprint"]) if widening else []
    if args.json:
        print(json.dumps(_report(old_terms, new_terms, changes, releases), indent=2))
    else:
        _print_text(old_terms, new_terms, changes, releases)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("diff", help="an amendment's changes, each classified widening / narrowing / neutral")
    p.add_argument("old", metavar="OLD", help="the earlier version (or, alone, the file to compare with the "
                                              "last version every party signed)")
    p.add_argument("new", metavar="NEW", nargs="?", help="the amended version")
    p.add_argument("--json", action="store_true", help="machine-readable report")
    p.set_defaults(func=_diff)
