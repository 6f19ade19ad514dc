"""Errors a user can hit. Each says what went wrong and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass


class PactlineError(Exception):
    """Base class for every error Pactline raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an agreement file, located by YAML path and line."""

    path: str  # e.g. "datasets[0].columns.email.transformation.kind"
    line: int | None  # 1-based line in the YAML file, None when unknown
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "line ?"
        return f"{where}: {self.path or '<document>'}: {self.message}"


class AgreementError(PactlineError):
    """The agreement file cannot be read or does not validate."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s)\n{lines}")


class PolicyViolation(PactlineError):
    """Something the agreement does not allow was attempted. Names the clause that refuses it."""

    def __init__(self, clause: str, message: str):
        self.clause = clause
        super().__init__(f"{message} (clause: {clause})")


class DataError(PactlineError):
    """Input data cannot be processed (corrupt, wrong type, unreadable). Says which file and column."""


class KeyStoreError(PactlineError):
    """A secret or data key is missing or unusable."""
