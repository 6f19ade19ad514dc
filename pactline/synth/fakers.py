"""Faked identifier values: fast, seeded, and never equal to a real value.

SDV's AnonymizedFaker calls Faker once per row (about 60 us for a name or an email, so 6 s per
100,000-row column). PooledFaker calls it for at most POOL_SIZE distinct values and draws the
rows from that pool, so a faked value recurs about rows/POOL_SIZE times, as real names do.
Its Faker is seeded from the synthesizer's seed and the column name; AnonymizedFaker seeds from
the column's first five real values, which would tie the output (and the saved model) to them.

Faked values are not learned, but they can still equal a real value by chance (a common name).
`replace_collisions` re-draws every faked value that equals a value it is told to avoid.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from faker import Faker
from rdt.transformers.pii.anonymizer import AnonymizedFaker

POOL_SIZE = 20_000
MAX_REDRAWS = 50


def column_seed(seed: int, column: str) -> int:
    digest = hashlib.sha256(f"{seed}:{column}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


class PooledFaker(AnonymizedFaker):
    """AnonymizedFaker that draws rows from a pool of Faker values; learns only the null share."""

    def __init__(self, provider_name: str | None = None, function_name: str | None = None,
                 locales: list[str] | None = None, seed: int = 0, pool_size: int = POOL_SIZE):
        super().__init__(provider_name=provider_name, function_name=function_name, locales=locales,
                         missing_value_generation="random")
        self.seed = seed
        self.pool_size = pool_size

    @classmethod
    def get_supported_sdtypes(cls) -> list[str]:
        # rdt walks every subclass of every transformer; a subclass of AnonymizedFaker sends that
        # walk into endless recursion unless it answers as AnonymizedFaker does.
        return AnonymizedFaker.get_supported_sdtypes()

    def _set_faker_seed(self, data) -> None:
        self._faker_random_seed = column_seed(self.seed, str(self.get_input_column()))
        self.faker.seed_instance(self._faker_random_seed)

    def _reverse_transform(self, data) -> np.ndarray:
        n = len(data) if data is not None and len(data) else self.data_length
        # the numpy generator derives from the seeded Faker, so reset_randomization replays it
        rng = np.random.default_rng(self.faker.random.getrandbits(64))
        pool = np.array([self._function() for _ in range(min(n, self.pool_size))], dtype=object)
        out = pool[rng.integers(0, len(pool), n)] if n > len(pool) else pool
        nulls = int(self._nan_frequency * n)
        if nulls:
            out = out.copy()
            out[rng.choice(n, nulls, replace=False)] = None
        return out


def normalise(values: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """Comparable form of identifier values: text, trimmed, lower-case, inner whitespace collapsed."""
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    text = values.cast(pa.string())
    text = pc.utf8_lower(pc.utf8_trim_whitespace(text))
    return pc.replace_substring_regex(text, r"\s+", " ")


def value_set(values: pa.Array | pa.ChunkedArray) -> set[str]:
    return {v for v in pc.unique(normalise(values)).to_pylist() if v is not None}


def shared_values(values: pa.Array | pa.ChunkedArray, candidates: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The distinct values of `values` (normalised) that are also among `candidates`: what a real table holds
    of the synthetic values, found without building a set of the real ones."""
    norm = pc.drop_null(normalise(values))  # a null is no identifier
    hit = pc.is_in(norm, value_set=pc.drop_null(pc.unique(normalise(candidates))))
    return pc.unique(pc.filter(norm, hit))


def replace_collisions(values: pa.Array | pa.ChunkedArray, avoid: set[str], make: Callable[[], str],
                       column: str) -> tuple[pa.Array | pa.ChunkedArray, int]:
    """Values with every one found in `avoid` (normalised) replaced by a fresh value; and how many distinct were.

    Each colliding distinct value gets one replacement, so the column's cardinality is kept.
    """
    if not avoid or len(values) == 0:
        return values, 0
    norm = normalise(values)
    hit = pc.is_in(norm, value_set=pa.array(sorted(avoid), type=pa.string()))
    hit = pc.fill_null(hit, False)
    if not pc.any(hit).as_py():
        return values, 0
    originals = values.cast(pa.string())
    colliding = pc.unique(pc.filter(originals, hit)).to_pylist()
    taken = avoid | value_set(values)
    mapping: dict[str, str] = {}
    for value in colliding:
        for _ in range(MAX_REDRAWS):
            new = make()
            key = " ".join(new.strip().lower().split())
            if key not in taken:
                break
        else:  # Faker keeps returning taken values (a tiny provider): fall back to an obviously synthetic one
            new = f"syn-{len(mapping):012x}-{column}"
            key = new.lower()
        taken.add(key)
        mapping[value] = new
    keys = pa.array(list(mapping), type=pa.string())
    idx = pc.index_in(originals, value_set=keys)
    replaced = pc.take(pa.array(list(mapping.values()), type=pa.string()), idx)
    return pc.if_else(pc.is_null(idx), originals, replaced), len(mapping)


def faker_for(locale: str, seed: int, column: str) -> Faker:
    fake = Faker(locale)
    fake.seed_instance(column_seed(seed + 1, column))
    return fake
