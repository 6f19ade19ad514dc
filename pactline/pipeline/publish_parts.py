"""publish for a partitioned dataset: the released parts become ONE version with ONE manifest.

The version folder holds one Parquet file per partition (part-00000.parquet, ...), each re-encrypted
under the release's own key as it is copied; the manifest lists every partition's input (name,
hash of its landing copy, row counts) and every file, and is written last.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from pactline.delivery.export import export_release
from pactline.errors import PactlineError
from pactline.parties import PartyKeys
from pactline.pipeline.context import RunContext
from pactline.pipeline.publish import lineage_inputs, manifest_header, sha256_of, transformations
from pactline.policy import Policy
from pactline.store.layout import MANIFEST


def publish_parts(ctx: RunContext, output_id: str, lineage: dict[str, Any], combined: dict[str, Any]) -> dict[str, Any]:
    output = Policy(ctx.loaded).require_release(output_id, ctx.as_of)
    parts: list[str] = combined["parts"]
    staged = hashlib.sha256()
    for rel in parts:
        staged.update(sha256_of(ctx, rel)[0].encode())
    now = dt.datetime.now(dt.UTC)
    version = f"{now:%Y%m%dT%H%M%S}Z-{staged.hexdigest()[:12]}"
    base = ctx.shared(output_id, version)
    if ctx.root.exists(f"{base}/{MANIFEST}"):
        raise PactlineError(f"version {version} of {output_id} already exists; released versions are immutable")
    files, schema, version_id = [], None, None
    for rel in parts:
        name = rel.rsplit("/", 1)[-1]
        data_rel = f"{base}/{name}"
        with ctx.root.open_parquet(rel) as src:
            rows, schema = src.metadata.num_rows, src.schema_arrow
            with ctx.root.parquet_writer(data_rel, schema) as dst:
                for batch in src.iter_batches(batch_size=65536):
                    dst.write_batch(batch)
        stored = ctx.root.file_record(data_rel)
        data_sha, size = sha256_of(ctx, data_rel)
        if stored is None or stored.sha256 != data_sha or stored.rows != rows:
            ctx.root.delete(base, recursive=True)
            raise PactlineError(f"copy of {rel} to {base} is corrupt (hash or row count mismatch); nothing was released")
        version_id = stored.version_id
        files.append({"path": name, "sha256": data_sha, "bytes": size, "rows": rows,
                      "encryption": "parquet-modular/AES_GCM_V1"})
    inputs, ingested, dropped = lineage_inputs(lineage)
    released_rows = sum(f["rows"] for f in files)
    manifest = {
        **manifest_header(ctx, output, version, version_id, now),
        "partitioned": True,
        "inputs": inputs,
        "rows": {"ingested": ingested, "released": released_rows},
        "schema": [{"name": f.name, "type": str(f.type)} for f in schema] if schema is not None else [],
        "undeclared_columns": dropped,  # dropped at schema mapping: how many, at which positions
        "transformations": transformations(ctx, output),
        "steps": {k: v for k, v in lineage.items() if k in ("prepare", "k_classes", "combine", "approve")
                  or k.startswith("approve_")},
        "files": files,
    }
    ctx.root.write_json(f"{base}/{MANIFEST}", manifest)  # last: its presence marks the version complete
    result = {"output": output_id, "version": version, "version_id": version_id, "path": base,
              "manifest": f"{base}/{MANIFEST}", "files": len(files), "rows": released_rows, "uri": ctx.root.uri(base)}
    result["exchange"] = export_release(ctx.root, ctx.loaded, output, base, manifest, PartyKeys(ctx.keystore))
    ctx.record("release.published", **result, zone=output.zone, recipient=output.recipient)
    return result
