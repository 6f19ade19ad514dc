"""dp_mst: differentially private synthetic rows after MST (McKenna, Miklau & Sheldon, "Winning the NIST
Contest: A scalable and general approach to differentially private synthetic data", 2021), on OpenDP.

    train_dp(table, dataset, params, specs, rules, seed) -> TrainedSynthesizer   (called by train.train)
    spent(entries) -> (epsilon, delta)     # what the ledger's dp.* entries of an agreement add up to
    plan_spend(params, budget, entries)    # raises PolicyViolation when a run would exceed privacy.dp_budget

Algorithm (MST's three measurements; every one is an OpenDP measurement whose privacy map gives its cost):

1. every modelled column is discretised by a function fixed in advance: declared categories
   (allowed_values rules, booleans) and declared ranges (range rules: RANGE_BINS equal-width bins) are
   public domains; any other column's domain is released by OpenDP's Gaussian threshold mechanism
   (`make_gaussian_threshold`, propose-test-release: only values held by enough rows survive the noise and
   the threshold) over keys that are the value itself (text), its month (dates) or a quarter-octave bucket
   (numbers without a declared range). Values whose key is not released fall into one OTHER bin.
   The 1-way marginal of each column is measured with Gaussian noise (`make_gaussian`; the threshold
   mechanism's counts are that column's marginal). Budget: a third of rho, shared evenly.
2. d-1 pairs of columns are selected one by one, Kruskal-style, with the exponential mechanism
   (`make_noisy_max`, Gumbel noise) over the L1 distance between each pair's true 2-way marginal and the
   one the noisy 1-way marginals predict under independence (sensitivity 1): a maximum spanning tree over
   the pairs that independence explains worst. Budget: a third of rho.
3. the selected 2-way marginals are measured with Gaussian noise. Budget: the last third.

Sampling differs from MST: MST fits a graphical model to all measurements with Private-PGM; here the rows are
drawn along the tree (root from its noisy 1-way marginal, each child from its noisy 2-way marginal given the
parent's value, negative counts clipped). Both are post-processing of the noisy measurements, so the privacy
guarantee is the same; the marginals are less consistent than Private-PGM's estimate.

Privacy accounting: add/remove-one-row neighbours; every measurement is zero-concentrated DP (rho) and the
threshold mechanisms add delta; rho adds up (zCDP composition) and the total converts to (epsilon, delta) with
OpenDP's `make_zCDP_to_approxDP`. rho is the largest for which that conversion, at half the run's delta, stays
within the run's epsilon; the thresholds may spend the other half of delta. Identifiers are faked or
regenerated without looking at the data, as for the other models. The noise comes from OpenDP's own secure
generator and is never seeded (seeded noise would not be private); the seed only fixes sampling from a trained
model. Across runs, epsilons and deltas add up (basic composition) against privacy.dp_budget.

Outside the guarantee (said so in the README): the synthetic gates of check_synthetic and the redraw of a generated
identifier that happens to equal a real one (train.sample) look at the real rows; they decide whether and which
rows are released, and are not part of the accounting.
"""

from __future__ import annotations

import calendar
import math
import pickle
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from pactline.agreement.model import Dataset, DPBudget, Synthesizer
from pactline.errors import PolicyViolation
from pactline.synth import fakers
from pactline.synth.errors import SynthesisError
from pactline.synth.frames import to_pandas
from pactline.synth.metadata import FAKER_FUNCTIONS, Allowed, Bounds, ColumnSpec, Rule

DP_PREFIX = "dp."  # ledger events of DP training: dp.spent carries `epsilon` and `delta`; dp.refused carries neither
DEFAULT_DELTA = 1e-7
RANGE_BINS = 16
BUCKETS_PER_OCTAVE = 4
NULL = "\x00null"  # the key of a missing value
OTHER = "other"  # what a value whose key the threshold mechanism did not release becomes (text columns)
POOL = 5_000  # faked values drawn per column and sampled from


def _opendp() -> Any:
    import opendp.prelude as dp

    dp.enable_features("contrib")
    return dp


# -- budget ----------------------------------------------------------------------------------------

def spent(entries: Iterable[Any]) -> tuple[float, float]:
    """(epsilon, delta) the agreement's dp.* ledger entries record as spent (basic composition)."""
    eps = delta = 0.0
    for e in entries:
        payload = getattr(e, "payload", None) or {}
        if not getattr(e, "event", "").startswith(DP_PREFIX):
            continue
        for name, value in (("epsilon", payload.get("epsilon")), ("delta", payload.get("delta"))):
            if isinstance(value, int | float) and not isinstance(value, bool):
                if name == "epsilon":
                    eps += float(value)
                else:
                    delta += float(value)
    return eps, delta


def run_delta(params: Synthesizer) -> float:
    return params.delta if params.delta is not None else DEFAULT_DELTA


def plan_spend(params: Synthesizer, budget: DPBudget | None, entries: Iterable[Any], where: str) -> dict[str, float]:
    """What this run will spend and what is left; PolicyViolation when it would exceed privacy.dp_budget."""
    assert params.epsilon is not None
    eps, delta = spent(entries)
    want = {"requested_epsilon": params.epsilon, "requested_delta": run_delta(params), "spent_epsilon": eps,
            "spent_delta": delta}
    if budget is None:
        raise PolicyViolation("privacy.dp_budget", f"{where}: a differentially private synthesizer needs "
                              "privacy.dp_budget in the agreement; nothing was trained")
    if eps + params.epsilon > budget.epsilon + 1e-12 or delta + run_delta(params) > budget.delta + 1e-18:
        raise PolicyViolation("privacy.dp_budget", (
            f"{where}: this run would spend epsilon {params.epsilon:g} (delta {run_delta(params):g}) on top of "
            f"epsilon {eps:g} (delta {delta:g}) already spent, more than privacy.dp_budget (epsilon "
            f"{budget.epsilon:g}, delta {budget.delta:g}); nothing was trained. Lower the synthesizer's epsilon or "
            "amend the budget"))
    return {**want, "budget_epsilon": budget.epsilon, "budget_delta": budget.delta}


def rho_for(epsilon: float, delta: float) -> float:
    """The largest zCDP rho whose (epsilon, delta) conversion (OpenDP's) stays within `epsilon` at `delta`."""
    dp = _opendp()
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l2_distance(T=float)

    def eps(rho: float) -> float:
        m = dp.m.make_gaussian(*space, scale=math.sqrt(1 / (2 * rho)))
        return dp.c.make_zCDP_to_approxDP(m).map(1.0).epsilon(delta)

    lo, hi = 1e-12, 1.0
    while eps(hi) < epsilon:
        hi *= 2
    for _ in range(60):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if eps(mid) <= epsilon else (lo, mid)
    return lo


def epsilon_of(rho: float, delta: float) -> float:
    dp = _opendp()
    m = dp.m.make_gaussian(dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l2_distance(T=float),
                           scale=math.sqrt(1 / (2 * rho)))
    return float(dp.c.make_zCDP_to_approxDP(m).map(1.0).epsilon(delta))


# -- discretisation --------------------------------------------------------------------------------

@dataclass
class Encoder:
    """One modelled column as bins: `keys` are the bin labels (None is the null bin, OTHER the rest)."""

    name: str
    kind: str  # declared | range | month | bucket | text
    keys: list[Any]
    nullable: bool
    low: float | None = None
    high: float | None = None
    integer: bool = False

    def key_of(self, frame: pd.DataFrame) -> np.ndarray:
        """Each row's bin label (before mapping to an index)."""
        s = frame[self.name]
        missing = s.isna().to_numpy()
        if self.kind == "month":
            out = pd.to_datetime(s).dt.strftime("%Y-%m").to_numpy(dtype=object)
        elif self.kind == "bucket":
            out = np.array([_bucket(v) for v in s.to_numpy(dtype=float, na_value=np.nan)], dtype=object)
        elif self.kind == "range":
            x = s.to_numpy(dtype=float, na_value=np.nan)
            width = (self.high - self.low) / RANGE_BINS if self.high > self.low else 1.0
            out = np.clip(np.floor((x - self.low) / width), 0, RANGE_BINS - 1)
            out = np.where(np.isnan(out), 0, out).astype(int).astype(object)
        else:
            out = s.to_numpy(dtype=object)
        out = out.copy()
        out[missing] = NULL
        return out

    def codes(self, frame: pd.DataFrame) -> np.ndarray:
        index = {k: i for i, k in enumerate(self.keys)}
        other = index.get(OTHER, index.get(NULL, 0))
        return np.array([index.get(k, other) for k in self.key_of(frame)], dtype=np.int64)

    def values(self, codes: np.ndarray, rng: np.random.Generator) -> list[Any]:
        out: list[Any] = []
        for c in codes:
            k = self.keys[int(c)]
            if k == NULL or (k == OTHER and self.kind not in ("declared", "text")):
                out.append(None)
            elif self.kind == "range":
                width = (self.high - self.low) / RANGE_BINS
                v = float(np.clip(self.low + (int(k) + rng.random()) * width, self.low, self.high))
                out.append(round(v) if self.integer else v)
            elif self.kind == "bucket":
                lo, hi = _bucket_edges(k)
                v = lo + rng.random() * (hi - lo)
                out.append(round(v) if self.integer else v)
            elif self.kind == "month":
                y, m = map(int, k.split("-"))
                out.append(pd.Timestamp(year=y, month=m, day=1 + int(rng.integers(calendar.monthrange(y, m)[1]))))
            else:
                out.append(k)
        return out


def _bucket(v: float) -> Any:
    """A quarter-octave bucket of a number, fixed in advance (no data-dependent edges): 0, +k or -k."""
    if math.isnan(v):
        return NULL
    if v == 0:
        return "0"
    k = math.floor(math.log2(abs(v)) * BUCKETS_PER_OCTAVE)
    return f"{'-' if v < 0 else '+'}{k}"


def _bucket_edges(key: str) -> tuple[float, float]:
    if key == "0":
        return 0.0, 0.0
    k = int(key[1:])
    lo, hi = 2 ** (k / BUCKETS_PER_OCTAVE), 2 ** ((k + 1) / BUCKETS_PER_OCTAVE)
    return (lo, hi) if key[0] == "+" else (-hi, -lo)


def _encoders(specs: Sequence[ColumnSpec], dataset: Dataset, schema: pa.Schema, rules: Sequence[Rule]) -> list[Encoder]:
    allowed = {r.column: list(r.values) for r in rules if isinstance(r, Allowed)}
    bounds = {r.column: r for r in rules if isinstance(r, Bounds) and r.min is not None and r.max is not None}
    out = []
    for s in specs:
        if s.role != "modelled":
            continue
        col = dataset.columns.get(s.name)
        nullable = True if col is None else col.nullable
        t = schema.field(s.name).type
        t = t.value_type if pa.types.is_dictionary(t) else t
        if s.name in allowed:
            out.append(Encoder(s.name, "declared", [*allowed[s.name], NULL], nullable))
        elif s.sdtype == "boolean":
            out.append(Encoder(s.name, "declared", [False, True, NULL], nullable))
        elif s.sdtype == "numerical" and s.name in bounds:
            b = bounds[s.name]
            out.append(Encoder(s.name, "range", [*range(RANGE_BINS), NULL], nullable, float(b.min), float(b.max),
                               pa.types.is_integer(t)))
        elif s.sdtype == "numerical":
            out.append(Encoder(s.name, "bucket", [], nullable, integer=pa.types.is_integer(t)))
        elif s.sdtype == "datetime":
            out.append(Encoder(s.name, "month", [], nullable))
        else:
            out.append(Encoder(s.name, "text", [], nullable))
    return out


# -- the model -------------------------------------------------------------------------------------

@dataclass
class MSTModel:
    """What sampling needs: encoders, noisy marginals along a tree, and how identifiers are made.
    Holds noisy (differentially private) counts only; no row and no value outside the released domains."""

    table_name: str
    columns: list[str]  # output order: identifiers and modelled columns
    encoders: list[Encoder]
    root_marginal: np.ndarray
    order: list[int]  # encoders in sampling order (root first)
    parents: dict[int, int]
    pair_marginals: dict[int, np.ndarray]  # child -> noisy counts [parent value, child value]
    identifiers: list[ColumnSpec]
    locale: str
    integer_ids: list[str] = field(default_factory=list)  # regenerated columns of an integer type
    accounting: dict[str, Any] = field(default_factory=dict)
    _rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0), repr=False)
    _seed: int = 0

    def reset_sampling(self) -> None:
        self._rng = np.random.default_rng(self._seed)

    def _set_random_state(self, seed: int) -> None:
        self._seed = seed
        self._rng = np.random.default_rng(seed)

    def save(self, path: str) -> None:
        with open(path, "wb") as f:
            pickle.dump(self, f)

    def sample(self, n: int) -> dict[str, pd.DataFrame]:
        rng = self._rng
        codes: dict[int, np.ndarray] = {}
        for i in self.order:
            enc = self.encoders[i]
            if i not in self.parents:
                codes[i] = rng.choice(len(enc.keys), n, p=_probs(self.root_marginal, enc))
                continue
            parent, table = self.parents[i], self.pair_marginals[i]
            out = np.empty(n, dtype=np.int64)
            for v in np.unique(codes[parent]):
                rows = np.flatnonzero(codes[parent] == v)
                out[rows] = rng.choice(len(enc.keys), len(rows), p=_probs(table[v], enc))
            codes[i] = out
        data: dict[str, Any] = {}
        for i, enc in enumerate(self.encoders):
            data[enc.name] = enc.values(codes[i], rng)
        for s in self.identifiers:
            data[s.name] = self._identifiers(s, n, rng)
        return {self.table_name: pd.DataFrame({c: data[c] for c in self.columns})}

    def _identifiers(self, spec: ColumnSpec, n: int, rng: np.random.Generator) -> list[Any]:
        if spec.role == "faked" and spec.sdtype is not None:
            fake = fakers.faker_for(self.locale, int(rng.integers(2**31)), spec.name)
            function = getattr(fake, FAKER_FUNCTIONS[spec.sdtype][1])
            pool = np.array([str(function()) for _ in range(min(n, POOL))], dtype=object)
            return list(pool[rng.integers(0, len(pool), n)])
        if spec.name in self.integer_ids:
            return list(rng.choice(9 * 10**11, n, replace=False) + 10**11)
        return [f"syn-{x:012x}" for x in rng.choice(2**48, n, replace=False)]


def _probs(counts: np.ndarray, enc: Encoder) -> np.ndarray:
    p = np.clip(np.asarray(counts, dtype=float), 0, None)
    if not enc.nullable and NULL in enc.keys:
        p[enc.keys.index(NULL)] = 0.0
    total = p.sum()
    if total <= 0:  # the noise ate every count: uniform over the allowed bins
        p = np.ones(len(enc.keys))
        if not enc.nullable and NULL in enc.keys:
            p[enc.keys.index(NULL)] = 0.0
        total = p.sum()
    return p / total


# -- training --------------------------------------------------------------------------------------

def _gaussian(dp: Any, counts: np.ndarray, rho: float) -> tuple[np.ndarray, float]:
    """Counts plus Gaussian noise (l2 sensitivity 1: one row changes one count by 1); OpenDP's rho."""
    m = dp.m.make_gaussian(dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l2_distance(T=float),
                           scale=math.sqrt(1 / (2 * rho)))
    return np.asarray(m(list(map(float, counts.ravel()))), dtype=float).reshape(counts.shape), float(m.map(1.0))


def _discover(dp: Any, enc: Encoder, keys: np.ndarray, rho: float, delta: float) -> tuple[np.ndarray, float, float]:
    """The column's released keys and their noisy counts (OpenDP Gaussian threshold); returns counts, rho, delta."""
    from opendp.metrics import l02inf_distance

    uniq, counts = np.unique(keys.astype(str), return_counts=True)
    scale = math.sqrt(1 / (2 * rho))
    domain = dp.map_domain(dp.atom_domain(T=str), dp.atom_domain(T=int))

    def mechanism(threshold: int) -> tuple[Any, float, float]:
        m = dp.m.make_gaussian_threshold(domain, l02inf_distance(dp.absolute_distance(T=int)), scale=scale,
                                         threshold=threshold)
        r, dl = m.map((1, 1, 1))
        return m, float(r), float(dl)

    # the lowest threshold whose delta (the chance a value held by one row survives) fits this column's share
    lo, hi = 1, 2
    while mechanism(hi)[2] > delta:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if mechanism(mid)[2] <= delta else (mid, hi)
    m, used_rho, used_delta = mechanism(hi)
    released = m({str(k): int(c) for k, c in zip(uniq, counts, strict=True)})
    kept = sorted(k for k in released if k != NULL)
    enc.keys = [*kept, OTHER, NULL]
    noisy = np.array([released.get(k, 0) for k in kept] + [0.0, released.get(NULL, 0)], dtype=float)
    return noisy, used_rho, used_delta


def train_dp(table: pa.Table, dataset: Dataset, params: Synthesizer, specs: Sequence[ColumnSpec],
             rules: Sequence[Rule]) -> tuple[MSTModel, float]:
    """Fit dp_mst on `table`; returns the model and its fit seconds. The model's `accounting` says what was spent."""
    dp = _opendp()
    assert params.epsilon is not None
    start = time.perf_counter()
    delta = run_delta(params)
    rho_max = rho_for(params.epsilon, delta / 2)
    rho = rho_max * (1 - 1e-6)  # OpenDP rounds each measurement's rho up: a margin keeps the sum below rho_max
    encoders = _encoders(specs, dataset, table.schema, rules)
    if not encoders:
        raise SynthesisError(f"dataset {dataset.id}: dp_mst needs at least one modelled column")
    frame = to_pandas(table, [e.name for e in encoders])
    d = len(encoders)
    # thirds of rho for 1-way marginals, picks and pairs (halves without picks: two columns have one pair);
    # a pick with one candidate left is not run, so a share may stay unspent, never overspent
    parts = 3 if d > 2 else 2 if d == 2 else 1
    per_one = rho / parts / d
    per_pick = rho / parts / (d - 1) if d > 2 else 0.0
    per_pair = rho / parts / (d - 1) if d > 1 else 0.0
    threshold_delta = delta / 2 / d
    used_rho = used_delta = 0.0
    ones: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    for enc in encoders:
        keys = enc.key_of(frame)
        if enc.kind in ("declared", "range"):
            c = enc.codes(frame)
            noisy, r = _gaussian(dp, np.bincount(c, minlength=len(enc.keys)), per_one)
        else:
            noisy, r, dl = _discover(dp, enc, keys, per_one, threshold_delta)
            used_delta += dl
            c = enc.codes(frame)
        used_rho += r
        ones.append(noisy)
        codes.append(c)
    n_hat = max(float(np.median([np.clip(o, 0, None).sum() for o in ones])), 1.0)
    for enc, noisy in zip(encoders, ones, strict=True):
        if OTHER in enc.keys:  # the threshold mechanism does not count the rest: what the total leaves for it
            noisy[enc.keys.index(OTHER)] = max(n_hat - float(np.clip(noisy, 0, None).sum()), 0.0)
    probs = [_probs(o, e) for o, e in zip(ones, encoders, strict=True)]

    def true_pair(i: int, j: int) -> np.ndarray:
        size = len(encoders[j].keys)
        return np.bincount(codes[i] * size + codes[j], minlength=len(encoders[i].keys) * size).reshape(
            len(encoders[i].keys), size).astype(float)

    # Kruskal over the pairs independence explains worst, each pick by the exponential mechanism
    group = list(range(d))

    def find(x: int) -> int:
        while group[x] != x:
            group[x] = group[group[x]]
            x = group[x]
        return x

    edges: list[tuple[int, int]] = []
    candidates = [(i, j) for i in range(d) for j in range(i + 1, d)]
    scores = {p: float(np.abs(true_pair(*p) - n_hat * np.outer(probs[p[0]], probs[p[1]])).sum()) for p in candidates}
    while len(edges) < d - 1:
        open_ = [p for p in candidates if find(p[0]) != find(p[1])]
        if len(open_) == 1:
            pick = open_[0]
        else:
            m = dp.m.make_noisy_max(dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.linf_distance(T=float),
                                    dp.zero_concentrated_divergence(), scale=math.sqrt(1 / (2 * per_pick)))
            pick = open_[int(m([scores[p] for p in open_]))]
            used_rho += float(m.map(1.0))
        edges.append(pick)
        group[find(pick[0])] = find(pick[1])
    # measure the chosen pairs; sample along the tree from column 0
    neighbours: dict[int, list[int]] = {i: [] for i in range(d)}
    for i, j in edges:
        neighbours[i].append(j)
        neighbours[j].append(i)
    order, parents, pairs, seen = [0], {}, {}, {0}
    for i in order:
        for j in neighbours[i]:
            if j not in seen:
                seen.add(j)
                order.append(j)
                parents[j] = i
                pairs[j], r = _gaussian(dp, true_pair(i, j), per_pair)
                used_rho += r
    if used_rho > rho_max:
        raise SynthesisError(f"dp_mst spent rho {used_rho} of {rho_max}: accounting error, nothing released")
    identifiers = [s for s in specs if s.role in ("faked", "regenerated")]
    model = MSTModel(
        table_name=dataset.id, columns=[s.name for s in specs if s.role in ("faked", "regenerated", "modelled")],
        encoders=encoders, root_marginal=ones[0], order=order, parents=parents, pair_marginals=pairs,
        identifiers=identifiers, locale=params.locale,
        integer_ids=[s.name for s in identifiers if s.role == "regenerated" and pa.types.is_integer(
            table.schema.field(s.name).type)],
        accounting={"epsilon": params.epsilon, "delta": delta, "rho": rho_max, "rho_used": used_rho,
                    "threshold_delta_used": used_delta,
                    "epsilon_accounted": epsilon_of(used_rho, delta / 2) if used_rho > 0 else 0.0,
                    "pairs": [[encoders[i].name, encoders[j].name] for i, j in edges],
                    "released_domains": {e.name: len(e.keys) for e in encoders}},
    )
    return model, time.perf_counter() - start


def load_model(path: Any) -> MSTModel:
    """An MSTModel saved by MSTModel.save (unpickles: only load what you saved and kept encrypted)."""
    with open(path, "rb") as f:
        model = pickle.load(f)  # noqa: S301 - our own encrypted file, as train.load says
    if not isinstance(model, MSTModel):
        raise SynthesisError("saved dp_mst synthesizer holds another object; pass the bytes save() returned")
    return model
