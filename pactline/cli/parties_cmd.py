"""`pactline keys new`, `pactline sign`, `pactline signatures`: party keys and signed agreement versions."""

from __future__ import annotations

import argparse
import json

from pactline.agreement import load_agreement
from pactline.errors import PactlineError, PolicyViolation
from pactline.parties import PartyKeys, SignedVersions, public_key_text, sign, signature_statuses
from pactline.parties.consent import keep, require_new_version_number
from pactline.parties.party_keys import PUBLIC_KEY, key_file_path, key_id


def _keys_new(args: argparse.Namespace) -> int:
    loaded = load_agreement(args.agreement) if args.agreement else None
    if args.all_parties:
        if loaded is None:
            raise PactlineError("--all-parties needs --agreement FILE (whose parties get a key)")
        parties = [p.id for p in loaded.agreement.parties]
    elif args.party:
        parties = [args.party]
    else:
        raise PactlineError("name the party: --party ID (or --all-parties with --agreement FILE)")
    keys = PartyKeys()
    for party in parties:
        key = keys.private(party) if args.if_missing else None
        made = key is None
        if key is None:
            key = keys.create(party, rotate=args.rotate)
        text = public_key_text(key.public_key())
        print(f"{party}: {'new key' if made else 'key kept'} {key_id(text)} (private half in this deployment's "
              f"secret store as pactline_party_{party}; never share it)")
        ref = next((p.public_key for p in loaded.agreement.parties if p.id == party), None) if loaded else None
        if ref is not None and not PUBLIC_KEY.match(ref):
            path = key_file_path(loaded.base_dir, ref)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text + "\n", encoding="utf-8")
            print(f"  public key written to {path}")
        else:
            print(f"  public key: {text}  (put it in the agreement as parties[{party}].public_key)")
    return 0


def _sign(args: argparse.Namespace) -> int:
    from pactline.recording import ledger_recorder

    loaded = load_agreement(args.file)
    history = SignedVersions()
    require_new_version_number(loaded, history)
    keys = PartyKeys()
    if args.all_local:
        parties = [p.id for p in loaded.agreement.parties if keys.private(p.id) is not None]
        if not parties:
            raise PactlineError("no party of this agreement has a key in this deployment; `pactline keys new`")
    else:
        parties = [args.party]
    record = ledger_recorder(loaded, actor="cli:sign", run_id=None)
    for party in parties:
        key = keys.private(party)
        if key is None:
            raise PactlineError(f"party {party} has no key in this deployment (secret pactline_party_{party}); "
                                f"make one with `pactline keys new --party {party} --agreement {args.file}`")
        sig = sign(loaded, party, key)
        keep(loaded, sig, record, history)
        print(f"{party} signed {loaded.id} v{sig.version} (fingerprint {sig.fingerprint[:12]}) at {sig.signed_at}")
    return 0


def _signatures(args: argparse.Namespace) -> int:
    loaded = load_agreement(args.file)
    statuses = signature_statuses(loaded)
    conflict = None
    try:
        require_new_version_number(loaded, SignedVersions())
    except PolicyViolation as e:
        conflict = str(e)
    complete = conflict is None and all(s.state == "signed" for s in statuses)
    if args.json:
        print(json.dumps({"agreement": loaded.id, "version": loaded.agreement.metadata.version,
                          "fingerprint": loaded.fingerprint, "complete": complete, "version_conflict": conflict,
                          "parties": [s.to_dict() for s in statuses]}, indent=2))
    else:
        print(f"{loaded.id} v{loaded.agreement.metadata.version} (fingerprint {loaded.fingerprint[:12]})")
        for s in statuses:
            print(f"  {s.party:<20} {s.role:<10} {s.state.replace('_', ' '):<14} {s.detail}")
        if conflict:
            print(f"  refused: {conflict}")
        print("every party signed: this version may run" if complete else "NOT signed by every party: nothing runs")
    return 0 if complete else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("keys", help="party signing keys")
    ksub = p.add_subparsers(dest="keys_command", required=True, metavar="SUBCOMMAND")
    n = ksub.add_parser("new", help="make a party's Ed25519 key pair; write the public half where the agreement "
                                    "names it")
    n.add_argument("--party", metavar="ID")
    n.add_argument("--agreement", metavar="FILE", help="write the public key to the file this agreement names")
    n.add_argument("--all-parties", action="store_true", help="a key for every party of --agreement (a demo: "
                                                              "real parties each make their own)")
    n.add_argument("--if-missing", action="store_true", help="keep a key that exists (rewrite its public file)")
    n.add_argument("--rotate", action="store_true", help="replace an existing key (the old one is kept as "
                                                         "pactline_party_<id>_previous); every party signs again")
    n.set_defaults(func=_keys_new)

    p = sub.add_parser("sign", help="sign the agreement's current version for a party (detached, beside the file)")
    p.add_argument("file", metavar="FILE")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--party", metavar="ID")
    g.add_argument("--all-local", action="store_true",
                   help="sign for every party whose key this deployment holds (the demo holds them all)")
    p.set_defaults(func=_sign)

    p = sub.add_parser("signatures", help="each party as signed, missing, invalid or signed for another version")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_signatures)


__all__ = ["register"]
