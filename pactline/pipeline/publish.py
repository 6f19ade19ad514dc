"""publish: write a released version to the shared zone with its manifest, data first, manifest last."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pyarrow.parquet as pq

from pactline.errors import PactlineError
from pactline.pipeline.context import RunContext
from pactline.policy import Policy

MANIFEST = "manifest.json"
DATA = "data.parquet"


def sha256_of(ctx: RunContext, rel: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with ctx.root.fs.open(ctx.root.path(rel), "rb") as fh:
        while chunk := fh.read(4 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def publish(ctx: RunContext, output_id: str, lineage: dict[str, Any], protected: str) -> dict[str, Any]:
    """Release `protected` (a staging parquet) as a new immutable version of `output_id`.

    `lineage` holds what the upstream steps returned (ingest, map_schema, protect, approval, ...).
    """
    output = Policy(ctx.loaded).require_release(output_id, ctx.as_of)
    data_sha, size = sha256_of(ctx, protected)
    now = dt.datetime.now(dt.UTC)
    version = f"{now:%Y%m%dT%H%M%S}Z-{data_sha[:12]}"
    base = ctx.shared(output_id, version)
    if ctx.root.exists(f"{base}/{MANIFEST}"):
        raise PactlineError(f"version {version} of {output_id} already exists; released versions are immutable")
    with ctx.root.fs.open(ctx.root.path(protected), "rb") as fh:
        meta = pq.ParquetFile(fh).metadata
        schema = pq.ParquetFile(fh).schema_arrow
    ds = ctx.agreement.dataset(output.dataset)
    manifest = {
        "manifest_version": 1,
        "agreement": {"id": ctx.loaded.id, "version": ctx.agreement.metadata.version,
                      "fingerprint": ctx.loaded.fingerprint},
        "output": {"id": output.id, "kind": output.kind, "zone": output.zone, "recipient": output.recipient,
                   "purpose": output.purpose, "dataset": output.dataset},
        "version": version,
        "created_at": now.isoformat(),
        "run": {"run_id": ctx.run_id, "as_of": ctx.as_of.isoformat(), "actor": ctx.actor},
        "inputs": [{"source_uri": lineage["ingest"]["source_uri"], "sha256": lineage["ingest"]["sha256"],
                    "bytes": lineage["ingest"]["bytes"], "landing": lineage["ingest"]["landing"]}],
        "rows": {"ingested": lineage["map_schema"]["rows"], "released": meta.num_rows},
        "schema": [{"name": f.name, "type": str(f.type)} for f in schema],
        "dropped_undeclared_columns": lineage["map_schema"]["dropped_undeclared"],
        "transformations": {
            name: col.transformation.model_dump(mode="json", exclude={"examples"}) for name, col in ds.columns.items()
        },
        "steps": {k: v for k, v in lineage.items() if k not in ("ingest", "map_schema")},
        "files": [{"path": DATA, "sha256": data_sha, "bytes": size}],
    }
    ctx.root.fs.makedirs(ctx.root.path(base), exist_ok=True)
    ctx.root.fs.copy(ctx.root.path(protected), ctx.root.path(f"{base}/{DATA}"))
    copied_sha, _ = sha256_of(ctx, f"{base}/{DATA}")
    if copied_sha != data_sha:
        ctx.root.delete(base, recursive=True)
        raise PactlineError(f"copy of {protected} to {base} is corrupt (hash mismatch); nothing was released")
    ctx.root.write_json(f"{base}/{MANIFEST}", manifest)  # last: its presence marks the version complete
    result = {"output": output_id, "version": version, "path": f"{base}/{DATA}", "manifest": f"{base}/{MANIFEST}",
              "sha256": data_sha, "rows": meta.num_rows, "uri": ctx.root.uri(base)}
    ctx.record("release.published", **result, zone=output.zone, recipient=output.recipient)
    return result
