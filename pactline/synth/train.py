"""Train a synthesizer on one table as the agreement allows, sample from it, save and load it.

    train(table, dataset, params, *, rules=()) -> TrainedSynthesizer
    sample(trained, rows=None, *, avoid=(), seed=None) -> pa.Table
    save(trained) -> bytes            # derived data: the caller stores it encrypted
    load(blob) -> TrainedSynthesizer  # unpickles: only load what you saved

Which table to train on (raw or protected) is the policy engine's decision, not this module's.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import torch
from faker.config import AVAILABLE_LOCALES
from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer, TVAESynthesizer
from sdv.single_table.base import BaseSingleTableSynthesizer
from sdv.utils import load_synthesizer

from pactline.agreement.model import Dataset, QualityRule, Synthesizer
from pactline.errors import DataError
from pactline.synth import fakers, high_cardinality
from pactline.synth.errors import SynthesisError
from pactline.synth.frames import to_arrow, to_pandas
from pactline.synth.metadata import (
    FAKER_FUNCTIONS,
    Allowed,
    Bounds,
    ColumnSpec,
    Rule,
    metadata_from_specs,
    plan_columns,
    sample_rules,
)
from pactline.synth.quiet import sdv_quiet

FORMAT = "pactline-synth/1"
IN_MODEL = ("faked", "regenerated", "modelled")
MAX_SAMPLE_ROUNDS = 20
CTGAN_PAC = 10


@dataclass
class TrainedSynthesizer:
    """A fitted SDV synthesizer with what Pactline needs to sample and report on it.

    `_avoid` holds the training table's identifier values (normalised) so that `sample` never
    emits one; it lives in memory only and is never saved or pickled.
    """

    synthesizer: Any  # a fitted SDV synthesizer, or a dp.MSTModel
    dataset_id: str
    params: Synthesizer
    columns: list[ColumnSpec]
    schema: pa.Schema  # of the synthetic table
    rules: list[Rule]
    rows_trained: int
    fit_seconds: float
    last_redrawn: dict[str, int] = field(default_factory=dict)
    pooled: list[high_cardinality.Pooled] = field(default_factory=list)  # columns whose rare values became OTHER
    epochs_trained: int | None = None  # CTGAN / TVAE: fewer than params.epochs when a time budget cut them
    _avoid: dict[str, set[str]] = field(default_factory=dict, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_avoid"] = {}
        return state

    @property
    def identifier_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.role in ("faked", "regenerated")]

    def describe(self) -> dict[str, Any]:
        """What was trained, for reports and the ledger (no values)."""
        return {
            "dataset": self.dataset_id,
            "model": self.params.model,
            "params": self.params.model_dump(mode="json"),
            "rows_trained": self.rows_trained,
            "effective_batch_size": effective_batch_size(self.params),
            "fit_seconds": round(self.fit_seconds, 3),
            "epochs_trained": self.epochs_trained,
            "columns": [c.to_dict() for c in self.columns],
            "pooled": [asdict(p) for p in self.pooled],
            "rules": [{"kind": type(r).__name__.lower(), **r.__dict__} for r in self.rules],
            **({"dp": self.synthesizer.accounting} if hasattr(self.synthesizer, "accounting") else {}),
        }


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed Python's, numpy's and torch's global generators (CTGAN/TVAE training and rdt draw from
    them), and put them back afterwards so the caller's process keeps its own random state."""
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])


def _output_schema(table: pa.Table, specs: Sequence[ColumnSpec]) -> pa.Schema:
    fields = []
    for s in specs:
        if s.role not in IN_MODEL:
            continue
        t = table.schema.field(s.name).type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if s.role == "faked" or (s.role == "regenerated" and not pa.types.is_integer(t)):
            t = pa.string()
        fields.append(pa.field(s.name, t))
    return pa.schema(fields)


def effective_batch_size(params: Synthesizer) -> int | None:
    """CTGAN packs rows in groups of pac=10, so its batch size is rounded down to a multiple of 10."""
    if params.model == "ctgan":
        return max(CTGAN_PAC, params.batch_size - params.batch_size % CTGAN_PAC)
    return params.batch_size if params.model == "tvae" else None


def _make_synthesizer(md: Any, specs: Sequence[ColumnSpec], params: Synthesizer) -> BaseSingleTableSynthesizer:
    if params.model == "gaussian_copula":
        # A category's UniformEncoder output is uniform on [0, 1] by construction: fitting it
        # with the default beta distribution only costs time (about 1 s per column per 100k rows).
        uniform = {s.name: "uniform" for s in specs if s.role == "modelled" and s.sdtype in ("categorical", "boolean")}
        return GaussianCopulaSynthesizer(md, numerical_distributions=uniform, default_distribution="beta")
    batch = effective_batch_size(params)
    if params.model == "ctgan":
        return CTGANSynthesizer(md, epochs=params.epochs, batch_size=batch, enable_gpu=False, verbose=False)
    return TVAESynthesizer(md, epochs=params.epochs, batch_size=batch, enable_gpu=False, verbose=False)


def fit_epochs_in_budget(synth: Any, data: dict[str, pd.DataFrame], max_epochs: int, budget: float) -> int:
    """Fit a CTGAN/TVAE synthesizer for as many epochs (<= max_epochs) as `budget` seconds allow.

    The data are preprocessed once; one epoch is timed (model set-up included, so the estimate errs long);
    the model is then fitted afresh with the epochs the remaining time pays for. SDV reads the epochs from
    its `_model_kwargs` when it builds the model, so that is where they are set.
    """
    start = time.perf_counter()
    processed = synth.preprocess(data)
    synth._model_kwargs["epochs"] = 1
    probe = time.perf_counter()
    synth.fit_processed_data(processed)
    per_epoch = max(time.perf_counter() - probe, 1e-3)
    left = budget - (time.perf_counter() - start)
    epochs = max(1, min(max_epochs, int(left / per_epoch)))
    if epochs > 1:
        synth._model_kwargs["epochs"] = epochs
        synth.fit_processed_data(processed)
    synth.epochs = epochs
    return epochs


def train(table: pa.Table, dataset: Dataset, params: Synthesizer, *,
          rules: Sequence[QualityRule] = (), time_budget_seconds: float | None = None) -> TrainedSynthesizer:
    """Fit the synthesizer the output's `synthesizer` section names on `table`.

    `time_budget_seconds` (CTGAN and TVAE): the epochs are chosen to fit it, at most params.epochs
    (fit_epochs_in_budget); the epochs trained are in describe()["epochs_trained"].

    `rules` are the agreement's quality rules (Agreement.quality_rules): `unique` columns are
    regenerated, `allowed_values` columns are categories, and range/allowed_values rules are
    enforced on every synthetic row.
    """
    if table.num_rows == 0:
        raise DataError(f"dataset {dataset.id}: cannot train a synthesizer on an empty table")
    if params.locale not in AVAILABLE_LOCALES:
        raise SynthesisError(f"synthesizer locale {params.locale!r} is not a Faker locale; use one such as "
                             "en_US, de_DE or nl_NL in the output's synthesizer section")
    dp = params.model.startswith("dp_")
    # a DP model decides nothing from the data outside its accounting: no ID-like or rare-value decisions
    specs, pooled = ((plan_columns(dataset, table.schema, rules), []) if dp
                     else high_cardinality.plan(table, plan_columns(dataset, table.schema, rules)))
    used = [s for s in specs if s.role in IN_MODEL]
    if not used:
        raise SynthesisError(f"dataset {dataset.id}: no column may reach the synthesizer (all are dropped, "
                             "free text or undeclared)")
    avoid = {s.name: fakers.value_set(table[s.name]) for s in used if s.role in ("faked", "regenerated")}
    if dp:
        from pactline.synth.dp import train_dp

        model, fit_seconds = train_dp(table, dataset, params, specs, sample_rules(specs, rules, dataset.id))
        return TrainedSynthesizer(
            synthesizer=model, dataset_id=dataset.id, params=params, columns=specs,
            schema=_output_schema(table, specs), rules=sample_rules(specs, rules, dataset.id),
            rows_trained=table.num_rows, fit_seconds=fit_seconds, _avoid=avoid)
    md = metadata_from_specs(specs, dataset.id, table.schema)
    frame = to_pandas(high_cardinality.pool(table, pooled), [s.name for s in used])
    with seeded(params.seed), sdv_quiet():
        synth = _make_synthesizer(md, specs, params)
        data = {dataset.id: frame}
        synth.auto_assign_transformers(data)
        faked = {}
        for s in used:
            if s.role == "faked" and s.sdtype is not None:
                provider, function = FAKER_FUNCTIONS[s.sdtype]
                faked[s.name] = fakers.PooledFaker(provider, function, locales=[params.locale], seed=params.seed)
        if faked:
            synth.update_transformers(faked)
        start = time.perf_counter()
        if time_budget_seconds is not None and params.model in ("ctgan", "tvae"):
            epochs = fit_epochs_in_budget(synth, data, params.epochs, time_budget_seconds)
        else:
            synth.fit(data)
            epochs = params.epochs if params.model in ("ctgan", "tvae") else None
        fit_seconds = time.perf_counter() - start
    return TrainedSynthesizer(
        synthesizer=synth, dataset_id=dataset.id, params=params, columns=specs,
        schema=_output_schema(table, specs), rules=sample_rules(specs, rules, dataset.id),
        rows_trained=table.num_rows, fit_seconds=fit_seconds, pooled=pooled, epochs_trained=epochs, _avoid=avoid,
    )


def _valid(frame: pd.DataFrame, rules: Sequence[Rule]) -> np.ndarray:
    ok = np.ones(len(frame), dtype=bool)
    for r in rules:
        col = frame[r.column]
        present = col.notna().to_numpy()
        if isinstance(r, Bounds):
            values = pd.to_numeric(col, errors="coerce")
            if r.min is not None:
                ok &= ~present | (values >= r.min).to_numpy()
            if r.max is not None:
                ok &= ~present | (values <= r.max).to_numpy()
        elif isinstance(r, Allowed):
            ok &= ~present | col.isin(list(r.values)).to_numpy()
    return ok


def _sample_frame(trained: TrainedSynthesizer, rows: int) -> pd.DataFrame:
    """Rows from SDV; rows breaking a range or allowed_values rule are rejected and drawn again."""
    synth = trained.synthesizer
    parts: list[pd.DataFrame] = []
    need = rows
    for _ in range(MAX_SAMPLE_ROUNDS):
        batch = synth.sample(need if not parts else need + need // 2 + 10)[trained.dataset_id]
        if trained.rules:
            batch = batch[_valid(batch, trained.rules)]
        parts.append(batch.head(need))
        need -= len(parts[-1])
        if need <= 0:
            return pd.concat(parts, ignore_index=True)
    raise SynthesisError(
        f"dataset {trained.dataset_id}: could not sample {rows} rows that obey the agreement's range and "
        f"allowed_values rules in {MAX_SAMPLE_ROUNDS} rounds; check that the training data obeys them"
    )


def _maker(trained: TrainedSynthesizer, spec: ColumnSpec, seed: int, *, numeric: bool) -> Callable[[], str]:
    """Fresh values for a column, for the few faked values that equal a real one."""
    if spec.role == "faked" and spec.sdtype is not None:
        fake = fakers.faker_for(trained.params.locale, seed, spec.name)
        function = getattr(fake, FAKER_FUNCTIONS[spec.sdtype][1])
        return lambda: str(function())
    rng = np.random.default_rng(fakers.column_seed(seed + 2, spec.name))
    if numeric:
        return lambda: str(rng.integers(10**11, 10**12))
    return lambda: f"syn-{rng.integers(0, 2**48):012x}"


def sample(trained: TrainedSynthesizer, rows: int | None = None, *, avoid: pa.Table | Sequence[pa.Table] = (),
           seed: int | None = None) -> pa.Table:
    """`rows` synthetic rows (default: the output's `rows`, else as many as were trained on).

    The same trained synthesizer and seed give the same rows. No faked or regenerated value
    equals a value of the training table, nor of any table in `avoid` (pass the real rows the
    synthesizer was not trained on, e.g. the holdout, and, after `load`, the training table).
    """
    if rows is None:
        rows = trained.params.rows or trained.rows_trained
    if rows < 1:
        raise SynthesisError(f"rows must be at least 1, got {rows}")
    seed = trained.params.seed if seed is None else seed
    synth = trained.synthesizer
    with seeded(seed), sdv_quiet():
        synth.reset_sampling()
        # SDV seeds its model with a fixed constant unless told otherwise; this is the only hook
        synth._set_random_state(seed)
        frame = _sample_frame(trained, rows)
    table = to_arrow(frame, trained.schema)
    extra = [avoid] if isinstance(avoid, pa.Table) else list(avoid)
    specs = {c.name: c for c in trained.columns}
    trained.last_redrawn = {}
    for name in trained.identifier_columns:
        forbidden = set(trained._avoid.get(name, set()))
        for t in extra:
            if name in t.column_names:
                forbidden |= fakers.value_set(t[name])
        if not forbidden:
            continue
        col = table[name]
        maker = _maker(trained, specs[name], seed, numeric=pa.types.is_integer(col.type))
        fixed, n = fakers.replace_collisions(col.cast(pa.string()), forbidden, maker, name)
        if n:
            table = table.set_column(table.schema.get_field_index(name), trained.schema.field(name),
                                     fixed.cast(trained.schema.field(name).type))
            trained.last_redrawn[name] = n
    return table


def save(trained: TrainedSynthesizer) -> bytes:
    """The trained synthesizer as bytes: SDV's own save (cloudpickle) plus a JSON header, zipped.

    Derived data: it holds the model's learned parameters, including the categories of the
    modelled columns, so the caller stores it encrypted. It never holds faked identifiers' values.
    """
    header = {
        "format": FORMAT,
        **trained.describe(),
        "schema": trained.schema.serialize().to_pybytes().hex(),
        "rule_objects": [{"kind": type(r).__name__, **r.__dict__} for r in trained.rules],
    }
    with tempfile.TemporaryDirectory(prefix="pactline-synth-") as tmp:
        path = Path(tmp) / "synthesizer.pkl"
        with sdv_quiet():
            trained.synthesizer.save(str(path))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("pactline-synth.json", json.dumps(header, default=str))
            zf.write(path, "synthesizer.pkl")
    return buf.getvalue()


def load(blob: bytes) -> TrainedSynthesizer:
    """A synthesizer from `save`. Unpickling runs code: load only bytes you saved and kept encrypted."""
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            header = json.loads(zf.read("pactline-synth.json"))
            pickled = zf.read("synthesizer.pkl")
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise DataError(f"not a saved Pactline synthesizer ({e}); pass the bytes save() returned") from e
    if header.get("format") != FORMAT:
        raise DataError(f"saved synthesizer has format {header.get('format')!r}; this Pactline reads {FORMAT!r}")
    with tempfile.TemporaryDirectory(prefix="pactline-synth-") as tmp:
        path = Path(tmp) / "synthesizer.pkl"
        path.write_bytes(pickled)
        if str(header.get("model", "")).startswith("dp_"):
            from pactline.synth.dp import load_model

            synth = load_model(path)
        else:
            with sdv_quiet():
                synth = load_synthesizer(str(path))
    rules: list[Rule] = []
    for r in header["rule_objects"]:
        kind = r.pop("kind")
        rules.append(Bounds(**r) if kind == "Bounds" else Allowed(r["column"], tuple(r["values"])))
    return TrainedSynthesizer(
        synthesizer=synth, dataset_id=header["dataset"], params=Synthesizer.model_validate(header["params"]),
        columns=[ColumnSpec(**c) for c in header["columns"]],
        schema=pa.ipc.read_schema(pa.py_buffer(bytes.fromhex(header["schema"]))),
        rules=rules, rows_trained=header["rows_trained"], fit_seconds=header["fit_seconds"],
        pooled=[high_cardinality.Pooled(**p) for p in header.get("pooled", [])],
        epochs_trained=header.get("epochs_trained"),
    )
