"""ingest: copy the partner's file into the landing zone as an immutable, content-addressed version."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import fsspec

from pactline.errors import DataError
from pactline.pipeline.context import RunContext, safe_run_id
from pactline.pipeline.source import resolve_source

CHUNK = 4 << 20


def ingest(ctx: RunContext, dataset_id: str) -> dict[str, Any]:
    ds = ctx.agreement.dataset(dataset_id)
    meta = ctx.agreement.metadata
    ctx.record("agreement.loaded", dataset=dataset_id, source=ctx.loaded.source.rsplit("/", 1)[-1],
               version=meta.version, effective=meta.effective.isoformat(), expires=meta.expires.isoformat())
    uri = resolve_source(ds.source.uri, ctx.loaded.base_dir)
    ext = ds.source.format
    tmp_rel = f"{ctx.loaded.id}/landing/{dataset_id}/.incoming-{safe_run_id(ctx.run_id)}.{ext}"
    digest = hashlib.sha256()
    size = 0
    try:
        with fsspec.open(uri, "rb") as src, ctx.root.open_write(tmp_rel) as dst:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                dst.write(chunk)
    except FileNotFoundError:
        raise DataError(f"dataset {dataset_id}: source {ds.source.uri} not found (resolved to {uri})") from None
    if size == 0:
        ctx.root.delete(tmp_rel)
        raise DataError(f"dataset {dataset_id}: source {ds.source.uri} is empty")
    sha = digest.hexdigest()
    version = ctx.landing(dataset_id, sha)
    data_rel = f"{version}/source.{ext}"
    reused = ctx.root.exists(f"{version}/manifest.json")
    if reused:
        ctx.root.delete(tmp_rel)  # same bytes already landed: versions are immutable, keep the first
    else:
        ctx.root.move(tmp_rel, data_rel)
        ctx.root.write_json(f"{version}/manifest.json", {
            "zone": "landing", "agreement_id": ctx.loaded.id, "fingerprint": ctx.loaded.fingerprint,
            "dataset": dataset_id, "source_uri": ds.source.uri, "format": ext, "sha256": sha, "bytes": size,
            "ingested_at": dt.datetime.now(dt.UTC).isoformat(), "run_id": ctx.run_id,
        })
    result = {"dataset": dataset_id, "landing": data_rel, "sha256": sha, "bytes": size, "reused": reused,
              "source_uri": ds.source.uri, "format": ext}
    ctx.record("data.ingested", **result)
    return result
