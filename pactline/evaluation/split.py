"""Which rows of a dataset go to the provider-held holdout: whole data subjects, chosen by a seeded hash of their
pseudonym, so no subject is on both sides and the same seed keeps the same subjects out of training on every run
(a model trained on an earlier release never saw a holdout subject either).

A subject is in the holdout when the first 8 bytes of SHA-256(seed, pseudonym), read as a fraction of 2**64, are
below the agreed fraction. Rows without a subject cannot be shown to be disjoint and stay in training. Each holdout
row gets a row key (SHA-256 of seed, pseudonym and the row's occurrence among the subject's rows): what the
recipient's predictions are keyed by, derived from released values only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ROW_KEY = "row_key"  # the column the holdout release and the predictions are keyed by
_SCALE = float(2**64)


def _fraction_of(seed: int, subject: str) -> float:
    digest = hashlib.sha256(f"{seed}\x00{subject}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def _row_key(seed: int, subject: str, occurrence: int) -> str:
    return hashlib.sha256(f"row\x00{seed}\x00{subject}\x00{occurrence}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Split:
    holdout: np.ndarray  # bool per row: in the holdout
    row_keys: list[str]  # one per holdout row, in row order
    subjects_holdout: int
    subjects_training: int
    rows_without_subject: int

    @property
    def rows_holdout(self) -> int:
        return int(self.holdout.sum())

    @property
    def rows_training(self) -> int:
        return int(len(self.holdout) - self.holdout.sum())


def split_subjects(subjects: pa.Array | pa.ChunkedArray, *, fraction: float, seed: int) -> Split:
    """The holdout rows of a column of subject pseudonyms (see the module docstring)."""
    encoded = pc.dictionary_encode(pa.chunked_array([subjects]) if isinstance(subjects, pa.Array) else subjects)
    combined = encoded.combine_chunks() if isinstance(encoded, pa.ChunkedArray) else encoded
    names = combined.dictionary.cast(pa.string()).to_pylist()
    chosen = np.array([_fraction_of(seed, s) < fraction for s in names], dtype=bool)
    indices = combined.indices.to_numpy(zero_copy_only=False)
    valid = combined.indices.is_valid().to_numpy(zero_copy_only=False)
    holdout = np.zeros(len(indices), dtype=bool)
    holdout[valid] = chosen[indices[valid].astype(np.int64)]
    seen: dict[int, int] = {}
    keys = []
    for i in np.flatnonzero(holdout):
        code = int(indices[i])
        n = seen.get(code, 0)
        seen[code] = n + 1
        keys.append(_row_key(seed, names[code], n))
    present = np.unique(indices[valid].astype(np.int64))
    in_holdout = int(chosen[present].sum()) if len(present) else 0
    return Split(holdout=holdout, row_keys=keys, subjects_holdout=in_holdout,
                 subjects_training=int(len(present) - in_holdout), rows_without_subject=int((~valid).sum()))


def row_keys_digest(keys: list[str]) -> str:
    """A commitment to the holdout's rows (SHA-256 of the sorted row keys), for the ledger and the manifest."""
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()
