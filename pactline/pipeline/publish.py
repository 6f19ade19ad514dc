"""publish: write a released version to the shared zone with its manifest, data first, manifest last."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from pactline.agreement.model import Output
from pactline.delivery.export import export_release
from pactline.errors import PactlineError
from pactline.parties import PartyKeys
from pactline.pipeline.context import RunContext
from pactline.pipeline.map_schema import undeclared_record
from pactline.policy import Policy
from pactline.store.layout import MANIFEST

DATA = "data.parquet"


def sha256_of(ctx: RunContext, rel: str) -> tuple[str, int]:
    """SHA-256 and size of the file as stored (encrypted files hash as encrypted)."""
    digest, size = hashlib.sha256(), 0
    with ctx.root.fs.open(ctx.root.path(rel), "rb") as fh:
        while chunk := fh.read(4 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def manifest_header(ctx: RunContext, output: Output, version: str, version_id: str | None,
                    now: dt.datetime) -> dict[str, Any]:
    """What every release manifest opens with: which agreement, output, version and run."""
    return {
        "manifest_version": 1,
        "agreement": {"id": ctx.loaded.id, "version": ctx.agreement.metadata.version,
                      "fingerprint": ctx.loaded.fingerprint,
                      # the parties' signatures this release ran under (operators check them before any step)
                      "signatures": ctx.extra.get("signatures", [])},
        "output": {"id": output.id, "kind": output.kind, "zone": output.zone, "recipient": output.recipient,
                   "purpose": output.purpose, "dataset": output.dataset},
        "version": version,
        "version_id": version_id,
        "created_at": now.isoformat(),
        "run": {"run_id": ctx.run_id, "as_of": ctx.as_of.isoformat(), "actor": ctx.actor},
    }


def transformations(ctx: RunContext, output: Output) -> dict[str, Any]:
    """The agreed transformation of every column of the output's dataset, as the manifest lists them."""
    ds = ctx.agreement.dataset(output.dataset)
    return {name: col.transformation.model_dump(mode="json", exclude={"examples"}) for name, col in ds.columns.items()}


def lineage_inputs(lineage: dict[str, Any]) -> tuple[list[dict[str, Any]], int, dict[str, Any]]:
    """The manifest's inputs, rows ingested and undeclared columns dropped (how many and at which positions
    of the partner's header, never their names): from the one ingest of a file, or from each partition's
    ingest and map_schema of a partitioned dataset (positions where any partition had one)."""
    ingest, mapped = lineage["ingest"], lineage["map_schema"]
    if isinstance(ingest, dict):
        return ([{"source_uri": ingest["source_uri"], "sha256": ingest["sha256"], "bytes": ingest["bytes"],
                  "landing": ingest["landing"], "version_id": ingest.get("version_id")}],
                mapped["rows"], mapped["undeclared_columns"])
    by_index = {m["index"]: m for m in mapped}
    inputs = [{"source_uri": i["source_uri"], "partition": i["partition"], "sha256": i["sha256"], "bytes": i["bytes"],
               "landing": i["landing"], "version_id": i.get("version_id"), "rows": by_index[i["index"]]["rows"]}
              for i in sorted(ingest, key=lambda r: r["index"])]
    positions = sorted({p for m in mapped for p in m["undeclared_columns"]["positions"]})
    return inputs, sum(m["rows"] for m in mapped), undeclared_record(positions)


def publish(ctx: RunContext, output_id: str, lineage: dict[str, Any], protected: str) -> dict[str, Any]:
    """Release `protected` (a staging parquet) as a new immutable version of `output_id`.

    `lineage` holds what the upstream steps returned (ingest, map_schema, protect, approval, ...).
    The data is re-encrypted under the release's own key as it is copied, so shredding the
    staging version never touches the release, nor the other way round.
    """
    output = Policy(ctx.loaded).require_release(output_id, ctx.as_of)
    staged_sha, _ = sha256_of(ctx, protected)
    now = dt.datetime.now(dt.UTC)
    version = f"{now:%Y%m%dT%H%M%S}Z-{staged_sha[:12]}"
    base = ctx.shared(output_id, version)
    if ctx.root.exists(f"{base}/{MANIFEST}"):
        raise PactlineError(f"version {version} of {output_id} already exists; released versions are immutable")
    data_rel = f"{base}/{DATA}"
    with ctx.root.open_parquet(protected) as src:
        meta = src.metadata
        schema = src.schema_arrow
        with ctx.root.parquet_writer(data_rel, schema) as dst:
            for batch in src.iter_batches(batch_size=65536):
                dst.write_batch(batch)
    stored = ctx.root.file_record(data_rel)
    data_sha, size = sha256_of(ctx, data_rel)
    if stored is None or stored.sha256 != data_sha or stored.rows != meta.num_rows:
        ctx.root.delete(base, recursive=True)
        raise PactlineError(f"copy of {protected} to {base} is corrupt (hash or row count mismatch); nothing was released")
    inputs, ingested, dropped = lineage_inputs(lineage)
    manifest = {
        **manifest_header(ctx, output, version, stored.version_id, now),
        "inputs": inputs,
        "rows": {"ingested": ingested, "released": meta.num_rows},
        "schema": [{"name": f.name, "type": str(f.type)} for f in schema],
        "undeclared_columns": dropped,  # dropped at schema mapping: how many, at which positions
        "transformations": transformations(ctx, output),
        # a partitioned dataset's per-partition results stay in the ledger; the reduce steps' come here
        "steps": {k: v for k, v in lineage.items() if k not in ("ingest", "map_schema") and not isinstance(v, list)},
        # sha256 is of the file as stored; readers with access to the keyring decrypt it with any
        # engine that speaks Parquet modular encryption (the footer names version_id as the key)
        "files": [{"path": DATA, "sha256": data_sha, "bytes": size, "rows": meta.num_rows,
                   "encryption": "parquet-modular/AES_GCM_V1"}],
    }
    ctx.root.write_json(f"{base}/{MANIFEST}", manifest)  # last: its presence marks the version complete
    result = {"output": output_id, "version": version, "version_id": stored.version_id, "path": data_rel,
              "manifest": f"{base}/{MANIFEST}", "sha256": data_sha, "rows": meta.num_rows, "uri": ctx.root.uri(base)}
    result["exchange"] = export_release(ctx.root, ctx.loaded, output, base, manifest, PartyKeys(ctx.keystore))
    ctx.record("release.published", **result, zone=output.zone, recipient=output.recipient)
    return result
