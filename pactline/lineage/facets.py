"""The OpenLineage view of one release: the landing copy in, the release out, what each column got.

Built from what the run already wrote (the release manifest, the checks' summary) and the plan (each column's
agreed transformation and partner name), so it says exactly what the DAG did. Column names, types, agreed terms,
counts and verdicts only: never a value read from partner data (no observed values, no group labels).

Conventions followed (OpenLineage spec):
- dataset naming: `file` + absolute path for a local data root, `scheme://authority` + path otherwise;
- column lineage (ColumnLineageDatasetFacet 1-2-0): every input field carries `transformations`, each DIRECT with
  subtype IDENTITY (kept as is) or TRANSFORMATION, `masking` true when no original value survives, and a
  description naming the agreed transformation; the older per-field `transformationType` (IDENTITY | MASKED) is
  filled too for consumers that still read it. Rows removed by k-anonymity suppression are dataset-level
  INDIRECT / FILTER lineage on the quasi-identifiers;
- custom facets are prefixed with the producer (`pactline_agreement`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import attr
from openlineage.client.event_v2 import InputDataset, OutputDataset
from openlineage.client.facet_v2 import (
    DatasetFacet,
    RunFacet,
    column_lineage_dataset,
    data_quality_assertions_dataset,
    dataset_version_dataset,
    schema_dataset,
)

from pactline.agreement import LoadedAgreement
from pactline.agreement.wording import describe_transformation
from pactline.plan import ColumnPlan, build_plan

PRODUCER = "https://github.com/pactline/pactline"
AGREEMENT_FACET = "pactline_agreement"
SCHEMA_URL = "https://pactline.example/spec/facets/1-0-0/PactlineAgreementFacet.json"

# Transformation kinds after which no original value is available (OpenLineage `masking`).
MASKING = frozenset({"mask", "redact", "pseudonymise", "generalise", "date_shift", "encrypt", "redact_text"})


@attr.define
class PactlineAgreementRunFacet(RunFacet):
    """The agreement version a run carried out: its id, version and fingerprint (what every party signed)."""

    agreementId: str  # OpenLineage facets use camelCase
    version: str
    fingerprint: str
    output: str | None = None

    @staticmethod
    def _get_schema() -> str:
        return SCHEMA_URL + "#/$defs/PactlineAgreementRunFacet"


@attr.define
class PactlineAgreementDatasetFacet(DatasetFacet):
    """The agreement version a release was made under, on the release itself."""

    agreementId: str
    version: str
    fingerprint: str

    @staticmethod
    def _get_schema() -> str:
        return SCHEMA_URL + "#/$defs/PactlineAgreementDatasetFacet"


@dataclass
class ReleaseLineage:
    inputs: list[InputDataset] = field(default_factory=list)
    outputs: list[OutputDataset] = field(default_factory=list)
    run_facets: dict[str, RunFacet] = field(default_factory=dict)


def dataset_name(uri: str) -> tuple[str, str]:
    """(namespace, name) of a storage URI by the OpenLineage naming convention."""
    parts = urlsplit(uri)
    if parts.scheme in ("", "file", "local"):
        return "file", parts.path if parts.scheme else uri
    return f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/")


def column_transformation(transformation: dict[str, Any], note: str = "") -> column_lineage_dataset.Transformation:
    """One column's agreed transformation as an OpenLineage column-lineage transformation."""
    kind = transformation["kind"]
    return column_lineage_dataset.Transformation(
        type="DIRECT", subtype="IDENTITY" if kind == "keep" else "TRANSFORMATION",
        description=f"agreed transformation: {describe_transformation(transformation)}{note}", masking=kind in MASKING)


def _steps_of(manifest: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in manifest.get("steps", {}).items() if isinstance(v, dict)}


def _column_transformations(columns: tuple[ColumnPlan, ...], manifest: dict[str, Any]
                            ) -> dict[str, tuple[ColumnPlan, dict[str, Any], str]]:
    """Each released column's (plan, transformation actually applied, note): the agreed one, or a stronger one
    scan_pii imposed on a column where it found undeclared PII; a synthetic release's columns are generated."""
    steps = _steps_of(manifest)
    overrides = {**steps.get("prepare", {}).get("overrides", {}), **steps.get("scan_pii", {}).get("overrides", {})}
    synthetic = manifest["output"]["kind"] == "synthetic"
    levels = {**steps.get("k_classes", {}).get("levels", {}), **steps.get("suppress", {}).get("levels", {})}
    released = {f["name"] for f in manifest.get("schema", [])}
    out = {}
    for col in columns:
        if col.name not in released:
            continue  # dropped: no output field
        transformation, note = col.transformation, ""
        if col.name in overrides:
            agreed = describe_transformation(col.transformation)
            transformation, note = {"kind": overrides[col.name]}, f" (scan_pii found undeclared PII; agreed: {agreed})"
        level = levels.get(col.name, 0)
        if level:
            note += f"; k-anonymity suppression raised it to level {level} of its agreed hierarchy"
        if synthetic:
            note += "; values generated by the synthesizer, trained under this agreement"
        out[col.name] = (col, transformation, note)
    return out


def _assertions(root: Any, manifest: dict[str, Any]) -> dict[str, list[data_quality_assertions_dataset.Assertion]]:
    """The GX expectations of each check kind (quality, privacy, bias, ...) as assertions: name, column, verdict
    and the agreed threshold. Observed values stay out (they are measured on partner data)."""
    summaries = [s["summary_json"] for s in _steps_of(manifest).values() if s.get("summary_json")]
    checks: dict[str, Any] = {}
    for rel in summaries:  # each check's summary holds every check run before it; later ones win
        checks.update(root.read_json(rel).get("checks", {}))
    out = {}
    for kind, check in checks.items():
        out[kind] = [data_quality_assertions_dataset.Assertion(
            assertion=o["expectation"], success=bool(o["success"]),
            column=o["columns"][0] if len(o.get("columns") or []) == 1 else None,
            name=o.get("clause") or None, severity="error",
            expected=json.dumps(o.get("threshold"), sort_keys=True) if o.get("threshold") else None,
        ) for o in check.get("results", [])]
    return out


def release_lineage(root: Any, loaded: LoadedAgreement, dataset_id: str, published: dict[str, Any]
                    ) -> ReleaseLineage:
    """The lineage of one publish: `published` is what the publish step returned (its manifest's path)."""
    manifest = root.read_json(published["manifest"])
    ds = build_plan(loaded).dataset(dataset_id)
    assertions = _assertions(root, manifest)

    inputs = []
    for item in manifest["inputs"]:
        ns, name = dataset_name(root.uri(item["landing"]))
        facets: dict[str, Any] = {"schema": schema_dataset.SchemaDatasetFacet(fields=[  # the declared columns only
            schema_dataset.SchemaDatasetFacetFields(name=c.partner_name, type=c.type) for c in ds.columns])}
        input_facets = ({"dataQualityAssertions": data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
            assertions=assertions["quality"])} if assertions.get("quality") else {})
        inputs.append(InputDataset(namespace=ns, name=name, facets=facets, inputFacets=input_facets))

    columns = _column_transformations(ds.columns, manifest)
    fields, described = {}, {}
    for name, (col, transformation, note) in columns.items():
        t = column_transformation(transformation, note)
        described[name] = t.description
        fields[name] = column_lineage_dataset.Fields(
            inputFields=[column_lineage_dataset.InputField(namespace=i.namespace, name=i.name, field=col.partner_name,
                                                           transformations=[t]) for i in inputs],
            transformationDescription=t.description,
            transformationType="MASKED" if t.masking else "IDENTITY" if t.subtype == "IDENTITY" else None)
    suppress = _steps_of(manifest).get("suppress") or _steps_of(manifest).get("k_classes") or {}
    by_name = {c.name: c for c in ds.columns}
    dataset_level = [column_lineage_dataset.InputField(
        namespace=i.namespace, name=i.name, field=by_name[q].partner_name,
        transformations=[column_lineage_dataset.Transformation(
            type="INDIRECT", subtype="FILTER", description="k-anonymity suppression: rows of classes smaller than k "
                                                           "are removed", masking=False)])
        for q in suppress.get("quasi_identifiers", []) if q in by_name for i in inputs]

    out_ns, out_name = dataset_name(root.uri(published["manifest"].rsplit("/", 2)[0]))  # the output, all versions
    agreement = manifest["agreement"]
    out_facets: dict[str, Any] = {
        "schema": schema_dataset.SchemaDatasetFacet(fields=[
            schema_dataset.SchemaDatasetFacetFields(name=f["name"], type=f["type"],
                                                    description=described.get(f["name"]))
            for f in manifest["schema"]]),
        "columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet(fields=fields, dataset=dataset_level),
        "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=manifest["version"]),
        AGREEMENT_FACET: PactlineAgreementDatasetFacet(agreementId=agreement["id"], version=agreement["version"],
                                                       fingerprint=agreement["fingerprint"]),
    }
    gates = [a for kind, found in assertions.items() if kind != "quality" for a in found]
    if gates:  # privacy, bias and synthetic gates ran on the released rows
        out_facets["dataQualityAssertions"] = data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
            assertions=gates)
    outputs = [OutputDataset(namespace=out_ns, name=out_name, facets=out_facets)]
    run_facets = {AGREEMENT_FACET: PactlineAgreementRunFacet(
        agreementId=agreement["id"], version=agreement["version"], fingerprint=agreement["fingerprint"],
        output=manifest["output"]["id"])}
    return ReleaseLineage(inputs=inputs, outputs=outputs, run_facets=run_facets)
