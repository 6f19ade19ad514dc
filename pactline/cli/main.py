"""Entry point of the `pactline` console script.

Subcommands live in sibling modules, each exposing `register(subparsers)`; they are
found automatically so a new command is one new file. Exit codes: 0 ok, 1 the thing
checked failed (a gate, a verification), 2 bad input (the message says what to fix).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import pactline.cli as cli_pkg
from pactline.errors import AgreementError, PactlineError, PolicyViolation

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pactline", description="Executable data sharing agreements.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(cli_pkg.__path__), key=lambda m: m.name):
        if info.name == "main":
            continue
        module = importlib.import_module(f"pactline.cli.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AgreementError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except PolicyViolation as e:
        print(f"refused: {e}", file=sys.stderr)
        return EXIT_FAILED
    except PactlineError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
