"""Errors of the synthesis engine, typed so operators can tell a failed gate from a bad setup."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pactline.errors import PactlineError


class FailedGate(Protocol):
    """What the error needs of a failed gate (a pactline.synth.report.Check, which imports this module)."""

    def describe(self) -> str: ...


class SynthesisError(PactlineError):
    """The synthesizer cannot be set up or sampled as the agreement asks; the message says what to change."""


class SyntheticGateFailed(PactlineError):
    """Synthetic data missed one or more of the agreement's privacy.synthetic thresholds."""

    def __init__(self, failed: Sequence[FailedGate], dataset: str = ""):
        self.failed = list(failed)
        what = "; ".join(c.describe() for c in failed)
        where = f"synthetic data for {dataset}" if dataset else "synthetic data"
        super().__init__(
            f"{where} failed {len(failed)} gate(s): {what}. The release is stopped; retrain (another model, "
            "more epochs, train_on protected) or, if the agreement allows it, change privacy.synthetic"
        )
