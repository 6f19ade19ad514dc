"""Agreement -> plan: pure data saying which steps run for which dataset, with which parameters.

The DAG factory renders a plan into tasks and makes no decisions of its own; `pactline plan`
prints exactly this. A step exists only when the agreement asks for it (no synthesize step
without a synthetic output, no approval step when no output needs one).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from pactline.agreement import LoadedAgreement
from pactline.agreement.model import Agreement, Dataset, Output

# Step kinds, in data-flow order within a dataset.
INGEST, MAP_SCHEMA, SCAN_PII, CHECK_QUALITY, PROTECT, CHECK_PRIVACY, CHECK_BIAS = (
    "ingest", "map_schema", "scan_pii", "check_quality", "protect", "check_privacy", "check_bias",
)
SUPPRESS, SYNTHESIZE, CHECK_SYNTHETIC, APPROVE, PUBLISH = (
    "suppress", "synthesize", "check_synthetic", "approve", "publish",
)
# Partitioned datasets only: the list the mapped steps expand over, and the reduce steps.
LIST_PARTITIONS, PREPARE, K_CLASSES, RELEASE, COMBINE = "list_partitions", "prepare", "k_classes", "release", "combine"
# A dataset with an evaluation output: its holdout is split off the protected rows before any gate or release
# (pactline.pipeline.holdout); what follows checks and releases the training rows.
SPLIT_HOLDOUT = "split_holdout"
# A synthesizer of a partitioned dataset trains on a seeded uniform sample of at most this many rows (a
# smaller dataset whole): fitting and evaluating a synthesizer grow faster than linearly in rows.
SYNTHETIC_TRAINING_ROWS = 50_000


@dataclass(frozen=True)
class Step:
    task_id: str  # unique within the dataset's task group
    kind: str
    upstream: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    # what the step reads: input name -> task id of the step whose result it is (within the dataset's group)
    inputs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ColumnPlan:
    name: str
    partner_name: str  # the provider's own column name
    type: str
    category: str
    transformation: dict[str, Any]


@dataclass(frozen=True)
class DatasetPlan:
    id: str
    provider: str
    source_uri: str
    source_format: str
    columns: tuple[ColumnPlan, ...]
    steps: tuple[Step, ...]
    partitioned: bool = False  # steps with params["mapped"] run once per partition (dynamic task mapping)

    def step(self, kind: str) -> Step:
        return next(s for s in self.steps if s.kind == kind)


@dataclass(frozen=True)
class ReceivePlan:
    """A recipient's deployment: one receive DAG per output addressed to it, polling the exchange."""

    output: str
    dataset: str
    provider: str
    zone: str


@dataclass(frozen=True)
class Plan:
    agreement_id: str
    version: str
    fingerprint: str
    source: str
    datasets: tuple[DatasetPlan, ...]
    party: str | None = None  # the deployment's party (PACTLINE_PARTY); None: every party's steps (the demo)
    receives: tuple[ReceivePlan, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def dataset(self, dataset_id: str) -> DatasetPlan:
        return next(d for d in self.datasets if d.id == dataset_id)


def _columns(ds: Dataset) -> tuple[ColumnPlan, ...]:
    partner = {canonical: p for p, canonical in ds.schema_mapping.items()}
    return tuple(
        ColumnPlan(
            name=name,
            partner_name=partner.get(name, name),
            type=col.type,
            category=col.category,
            transformation=col.transformation.model_dump(mode="json", exclude={"examples"}),
        )
        for name, col in ds.columns.items()
    )


def _release_steps(out: Output, upstream: tuple[str, ...]) -> list[Step]:
    """The steward's approval when the output needs one, then publish."""
    steps = []
    if out.approval_required:
        approve_id = f"{APPROVE}_{out.id}"
        steps.append(Step(approve_id, APPROVE, upstream, {"output": out.id, "zone": out.zone,
                                                          "recipient": out.recipient}))
        upstream = (approve_id,)
    steps.append(Step(f"{PUBLISH}_{out.id}", PUBLISH, upstream, {
        "output": out.id, "kind": out.kind, "zone": out.zone, "recipient": out.recipient, "purpose": out.purpose,
    }))
    return steps


# The steps whose result is the data to release (the last of them in a dataset's plan): what check_privacy,
# check_bias, synthesize and publish read as "released".
RELEASE_CANDIDATES = (PROTECT, SUPPRESS, SPLIT_HOLDOUT)


def _with_inputs(steps: list[Step]) -> tuple[Step, ...]:
    """Each step reads the results of every step before it, by kind (by task id for a synthetic output's steps,
    one per output), and the data to release as "released"; publish and approval results are nobody's input."""
    seen: dict[str, str] = {}
    out = []
    for step in steps:
        out.append(replace(step, inputs=dict(seen)))
        if step.kind in (SYNTHESIZE, CHECK_SYNTHETIC):
            seen[step.task_id] = step.task_id
        elif step.kind not in (PUBLISH, APPROVE):
            seen[step.kind] = step.task_id
        if step.kind in RELEASE_CANDIDATES:
            seen["released"] = step.task_id
    return tuple(out)


def _steps(loaded: LoadedAgreement, ds: Dataset) -> tuple[Step, ...]:
    return _with_inputs(list(_partitioned_steps(loaded, ds) if ds.source.partitioned else _file_steps(loaded, ds)))


def _file_steps(loaded: LoadedAgreement, ds: Dataset) -> tuple[Step, ...]:
    agreement = loaded.agreement
    outputs = agreement.outputs_for(ds.id)
    has_bias = any(b.dataset == ds.id for b in agreement.bias_checks)
    steps = [
        Step(INGEST, INGEST),
        Step(MAP_SCHEMA, MAP_SCHEMA, (INGEST,)),
        Step(SCAN_PII, SCAN_PII, (MAP_SCHEMA,), {"on_undeclared_pii": agreement.privacy.on_undeclared_pii}),
        Step(CHECK_QUALITY, CHECK_QUALITY, (SCAN_PII,)),
        Step(PROTECT, PROTECT, (CHECK_QUALITY,)),
    ]
    kanon = agreement.privacy.k_anonymity
    qis = [c for c in kanon.quasi_identifiers if c in ds.columns] if kanon else []
    if kanon and kanon.suppress and qis:
        steps.append(Step(SUPPRESS, SUPPRESS, (PROTECT,), {"quasi_identifiers": qis, "k": kanon.k,
                                                           "max_suppressed_rate": kanon.max_suppressed_rate,
                                                           **anonymisation_params(agreement, ds, qis)}))
    evaluation = next((o for o in outputs if o.kind == "evaluation"), None)
    if evaluation is not None:
        from pactline.pipeline.holdout import split_params

        steps.append(Step(SPLIT_HOLDOUT, SPLIT_HOLDOUT, (steps[-1].task_id,), split_params(agreement, evaluation)))
    steps.append(Step(CHECK_PRIVACY, CHECK_PRIVACY, (steps[-1].task_id,)))
    released_gate = CHECK_PRIVACY
    if has_bias:
        steps.append(Step(CHECK_BIAS, CHECK_BIAS, (CHECK_PRIVACY,)))
        released_gate = CHECK_BIAS
    for out in outputs:
        steps += _synthetic_steps(out, released_gate, has_bias) + _release_steps(
            out, (f"{CHECK_SYNTHETIC}_{out.id}",) if out.kind == "synthetic" else (released_gate,))
    return tuple(steps)


def anonymisation_params(agreement: Agreement, ds: Dataset, qis: list[str]) -> dict[str, Any]:
    """What suppression searches and protects besides k (pactline.protect.anonymise): each quasi-identifier's
    hierarchy above its own transformation, and each protected attribute of the dataset's bias checks with the
    smallest max_drift agreed for it. Left out when there are none, so a plan without them reads as before."""
    hierarchies = {q: [level.model_dump(mode="json", exclude={"examples"}) for level in ds.columns[q].hierarchy]
                   for q in qis if ds.columns[q].hierarchy}
    groups: dict[str, float] = {}
    for b in agreement.bias_checks:
        if b.dataset == ds.id:
            for attr in b.protected_attributes:
                groups[attr] = min(groups.get(attr, b.max_drift), b.max_drift)
    return {**({"hierarchies": hierarchies} if hierarchies else {}),
            **({"protected_groups": groups} if groups else {})}


def _synthetic_steps(out: Output, after: str, has_bias: bool, extra: dict | None = None) -> list[Step]:
    """A synthetic output's synthesize and check_synthetic steps (none for a protected output)."""
    if out.kind != "synthetic":
        return []
    synth = out.synthesizer.model_dump(mode="json") if out.synthesizer else {}
    return [Step(f"{SYNTHESIZE}_{out.id}", SYNTHESIZE, (after,), {"output": out.id, **synth, **(extra or {})}),
            Step(f"{CHECK_SYNTHETIC}_{out.id}", CHECK_SYNTHETIC, (f"{SYNTHESIZE}_{out.id}",),
                 {"output": out.id, "bias": has_bias})]


def _partitioned_steps(loaded: LoadedAgreement, ds: Dataset) -> tuple[Step, ...]:
    """Map over partitions where rows are independent; reduce where the whole dataset counts.

    Scan overrides and rare-category counts are combined before protect (prepare); equivalence-class
    sizes after it (k_classes), so suppression removes the same classes in every partition; the bias,
    k-anonymity and l-diversity gates run on summed aggregates (combine). Publish writes one version of all parts.
    """
    agreement = loaded.agreement
    mapped = {"mapped": True}
    kanon = agreement.privacy.k_anonymity
    qis = [c for c in kanon.quasi_identifiers if c in ds.columns] if kanon else []
    steps = [
        Step(LIST_PARTITIONS, LIST_PARTITIONS, (), {"partition_rows": ds.source.partition_rows}),
        Step(INGEST, INGEST, (LIST_PARTITIONS,), mapped),
        Step(MAP_SCHEMA, MAP_SCHEMA, (INGEST,), mapped),
        Step(SCAN_PII, SCAN_PII, (MAP_SCHEMA,), {**mapped, "on_undeclared_pii": agreement.privacy.on_undeclared_pii}),
        Step(CHECK_QUALITY, CHECK_QUALITY, (SCAN_PII,), mapped),
        Step(PREPARE, PREPARE, (CHECK_QUALITY,)),
    ]
    anonymisation = anonymisation_params(agreement, ds, qis) if kanon and qis else {}
    groups = list(anonymisation.get("protected_groups", {}))
    steps.append(Step(PROTECT, PROTECT, (PREPARE,), {**mapped, "quasi_identifiers": qis,
                                                     **({"protected_attributes": groups} if groups else {})}))
    if kanon and qis:
        steps.append(Step(K_CLASSES, K_CLASSES, (PROTECT,), {"quasi_identifiers": qis, "k": kanon.k,
                                                             "suppress": kanon.suppress,
                                                             "max_suppressed_rate": kanon.max_suppressed_rate,
                                                             **anonymisation}))
    steps.append(Step(RELEASE, RELEASE, (steps[-1].task_id,), mapped))
    steps.append(Step(COMBINE, COMBINE, (RELEASE,)))
    has_bias = any(b.dataset == ds.id for b in agreement.bias_checks)
    for out in agreement.outputs_for(ds.id):
        steps += _synthetic_steps(out, COMBINE, has_bias, {"training_rows": SYNTHETIC_TRAINING_ROWS}) + _release_steps(
            out, (f"{CHECK_SYNTHETIC}_{out.id}",) if out.kind == "synthetic" else (COMBINE,))
    return tuple(steps)


RECEIVE_SCHEDULE = "@hourly"  # how often a recipient's receive DAG polls the exchange for a new release


def deployment_party() -> str | None:
    """$PACTLINE_PARTY: the party this deployment runs for. Unset: the embedded default runs everything."""
    return os.environ.get("PACTLINE_PARTY") or None


def build_plan(loaded: LoadedAgreement, party: str | None = None) -> Plan:
    """The plan of every dataset; with `party`, only what that party's own deployment runs: the datasets it
    provides, and a receive step for each output addressed to it (nothing if it is no party to this)."""
    agreement = loaded.agreement
    mine = [ds for ds in agreement.datasets if party is None or ds.provider == party]
    receives = tuple(ReceivePlan(o.id, o.dataset, agreement.dataset(o.dataset).provider, o.zone)
                     for o in agreement.outputs if party is not None and o.recipient == party)
    return Plan(
        agreement_id=agreement.metadata.id,
        version=agreement.metadata.version,
        fingerprint=loaded.fingerprint,
        source=loaded.source,
        party=party,
        receives=receives,
        datasets=tuple(
            DatasetPlan(
                id=ds.id,
                provider=ds.provider,
                source_uri=ds.source.uri,
                source_format=ds.source.format,
                columns=_columns(ds),
                steps=_steps(loaded, ds),
                partitioned=ds.source.partitioned,
            )
            for ds in mine
        ),
    )


def render_text(plan: Plan) -> str:
    """Human-readable plan, as `pactline plan` prints it."""
    lines = [f"agreement {plan.agreement_id} v{plan.version}", f"fingerprint {plan.fingerprint}", ""]
    if plan.party is not None:
        lines[-1:] = [f"deployment of party {plan.party}: its own datasets, and a receive DAG per output to it", ""]
        for r in plan.receives:
            lines.append(f"receive {r.output} (dataset {r.dataset} from {r.provider}, zone {r.zone}): "
                         f"polls the exchange {RECEIVE_SCHEDULE}, verifies, requests the key, stores")
        if plan.receives:
            lines.append("")
    for ds in plan.datasets:
        lines.append(f"dataset {ds.id} (provider {ds.provider}; source {ds.source_uri}, {ds.source_format})")
        lines.append("  tasks:")
        for s in ds.steps:
            after = f" after {', '.join(s.upstream)}" if s.upstream else ""
            each = " [one per partition]" if s.params.get("mapped") else ""
            if s.params.get("training_rows"):
                each = f" [trained on a sample of at most {s.params['training_rows']:,} rows]"
            if s.kind == SPLIT_HOLDOUT:
                each = (f" [holdout of {s.params['output']}: {s.params['fraction']:.0%} of the subjects by "
                        f"{s.params['subject_column']}, seed {s.params['seed']}; withheld: "
                        f"{', '.join(s.params['withheld']) or 'none'}]")
            lines.append(f"    {ds.id}.{s.task_id}{each}{after}")
        lines.append("  columns:")
        width = max(len(c.name) for c in ds.columns)
        for c in ds.columns:
            params = {k: v for k, v in c.transformation.items() if k != "kind"}
            detail = " ".join(f"{k}={v}" for k, v in params.items() if v not in (None, [], ""))
            src = f" <- {c.partner_name}" if c.partner_name != c.name else ""
            lines.append(f"    {c.name:<{width}}  {c.category:<19} {c.transformation['kind']:<12} {detail}{src}")
        lines.append("")
    return "\n".join(lines)
