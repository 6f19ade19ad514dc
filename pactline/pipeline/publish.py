"""publish: write a released version to the shared zone with its manifest, data first, manifest last.

One file (publish) or a partitioned dataset's parts (publish_parts): the same copy, checks and manifest."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from pactline.agreement.model import Output
from pactline.delivery.export import export_release
from pactline.errors import PactlineError
from pactline.parties import PartyKeys
from pactline.pipeline.context import BATCH_ROWS, RunContext
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


def _write_version(ctx: RunContext, output_id: str, staged: list[tuple[str, str]], tag: str
                   ) -> tuple[Output, str, str, dt.datetime, list[dict[str, Any]], Any]:
    """Copy each staged file (path, name in the release) into a new immutable version of `output_id`,
    re-encrypted under the release's own key, so shredding the staging version never touches the release,
    nor the other way round. Each copy is verified (hash, rows); a bad one removes the whole version."""
    output = Policy(ctx.loaded).require_release(output_id, ctx.as_of)
    now = dt.datetime.now(dt.UTC)
    version = f"{now:%Y%m%dT%H%M%S}Z-{tag[:12]}"
    base = ctx.shared(output_id, version)
    if ctx.root.exists(f"{base}/{MANIFEST}"):
        raise PactlineError(f"version {version} of {output_id} already exists; released versions are immutable")
    files, schema = [], None
    for rel, name in staged:
        data_rel = f"{base}/{name}"
        with ctx.root.open_parquet(rel) as src:
            rows, schema = src.metadata.num_rows, src.schema_arrow
            with ctx.root.parquet_writer(data_rel, schema) as dst:
                for batch in src.iter_batches(batch_size=BATCH_ROWS):
                    dst.write_batch(batch)
        stored = ctx.root.file_record(data_rel)
        data_sha, size = sha256_of(ctx, data_rel)
        if stored is None or stored.sha256 != data_sha or stored.rows != rows:
            ctx.root.delete(base, recursive=True)
            raise PactlineError(f"copy of {rel} to {base} is corrupt (hash or row count mismatch); nothing was released")
        # sha256 is of the file as stored; readers with access to the keyring decrypt it with any
        # engine that speaks Parquet modular encryption (the footer names version_id as the key)
        files.append({"path": name, "sha256": data_sha, "bytes": size, "rows": rows,
                      "encryption": "parquet-modular/AES_GCM_V1", "version_id": stored.version_id})
    return output, version, base, now, files, schema


def _finish_release(ctx: RunContext, output: Output, version: str, base: str, now: dt.datetime,
                    files: list[dict[str, Any]], schema: Any, lineage: dict[str, Any], steps: dict[str, Any],
                    partitioned: bool = False, reported: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest, written last (its presence marks the version complete), then the exchange and the ledger."""
    version_id = files[-1].pop("version_id") if files else None
    for f in files:
        f.pop("version_id", None)
    inputs, ingested, dropped = lineage_inputs(lineage)
    released = sum(f["rows"] for f in files)
    manifest = {
        **manifest_header(ctx, output, version, version_id, now),
        **({"partitioned": True} if partitioned else {}),
        "inputs": inputs,
        "rows": {"ingested": ingested, "released": released},
        "schema": [{"name": f.name, "type": str(f.type)} for f in schema] if schema is not None else [],
        "undeclared_columns": dropped,  # dropped at schema mapping: how many, at which positions
        "transformations": transformations(ctx, output),
        "steps": steps,
        "files": files,
    }
    ctx.root.write_json(f"{base}/{MANIFEST}", manifest)
    result = {"output": output.id, "version": version, "version_id": version_id, **(reported or {}),
              "manifest": f"{base}/{MANIFEST}", "rows": released, "uri": ctx.root.uri(base)}
    result["exchange"] = export_release(ctx.root, ctx.loaded, output, base, manifest, PartyKeys(ctx.keystore))
    ctx.record("release.published", **result, zone=output.zone, recipient=output.recipient)
    return result


def publish(ctx: RunContext, output_id: str, lineage: dict[str, Any], protected: str) -> dict[str, Any]:
    """Release `protected` (one staging Parquet file) as a new immutable version of `output_id`.

    `lineage` holds what the upstream steps returned (ingest, map_schema, protect, approval, ...).
    """
    staged_sha, _ = sha256_of(ctx, protected)
    output, version, base, now, files, schema = _write_version(ctx, output_id, [(protected, DATA)], staged_sha)
    # a partitioned dataset's per-partition results stay in the ledger; the reduce steps' come here
    steps = {k: v for k, v in lineage.items() if k not in ("ingest", "map_schema") and not isinstance(v, list)}
    return _finish_release(ctx, output, version, base, now, files, schema, lineage, steps,
                           reported={"path": f"{base}/{DATA}", "sha256": files[0]["sha256"]})


def publish_parts(ctx: RunContext, output_id: str, lineage: dict[str, Any], combined: dict[str, Any]) -> dict[str, Any]:
    """Release a partitioned dataset's released parts (combine) as one version, a file per partition."""
    staged = hashlib.sha256()
    for rel in combined["parts"]:
        staged.update(sha256_of(ctx, rel)[0].encode())
    output, version, base, now, files, schema = _write_version(
        ctx, output_id, [(rel, rel.rsplit("/", 1)[-1]) for rel in combined["parts"]], staged.hexdigest())
    steps = {k: v for k, v in lineage.items() if k in ("prepare", "k_classes", "combine", "approve")
             or k.startswith("approve_")}
    return _finish_release(ctx, output, version, base, now, files, schema, lineage, steps,
                           partitioned=True, reported={"path": base, "files": len(files)})
