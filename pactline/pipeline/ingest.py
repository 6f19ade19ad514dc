"""ingest: copy the partner's file into the landing zone as an immutable, content-addressed, encrypted version."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import IO, Any

import fsspec

from pactline.errors import DataError
from pactline.partition import Partition, open_partition
from pactline.pipeline.context import RunContext
from pactline.sources import locate_source, max_source_bytes
from pactline.store import layout

CHUNK = 4 << 20


class SourceTooLarge(DataError):
    """The source exceeds the landing cap; the partial copy was discarded."""


def ingest(ctx: RunContext, dataset_id: str) -> dict[str, Any]:
    ds = ctx.agreement.dataset(dataset_id)
    record_loaded(ctx, dataset_id)
    root, uri = locate_source(ctx.loaded, dataset_id)  # refused unless inside the provider's source root
    root.check_file(uri, f"datasets[{dataset_id}].source.uri")
    try:
        with fsspec.open(uri, "rb") as src:
            result = land(ctx, dataset_id, src, source_uri=ds.source.uri, ext=ds.source.format)
    except (FileNotFoundError, IsADirectoryError):
        raise DataError(f"dataset {dataset_id}: source {ds.source.uri} not found (resolved to {uri})") from None
    ctx.record("data.ingested", **result)
    return result


def record_loaded(ctx: RunContext, dataset_id: str) -> None:
    meta = ctx.agreement.metadata
    ctx.record("agreement.loaded", dataset=dataset_id, source=ctx.loaded.source.rsplit("/", 1)[-1],
               version=meta.version, effective=meta.effective.isoformat(), expires=meta.expires.isoformat())


def land(ctx: RunContext, dataset_id: str, src: IO[bytes], *, source_uri: str, ext: str,
         extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Copy `src` into the landing zone as a content-addressed version; reuse it if those bytes already landed."""
    vault = ctx.vault
    assert vault is not None
    # The copy is encrypted as it streams in, under a pending version whose folder is renamed to the
    # content hash once the hash is known: no byte of the partner's file is ever at rest in clear.
    pending_dir = layout.incoming(ctx.loaded.id, dataset_id, f"{layout.safe_run_id(ctx.run_id)}-{uuid.uuid4().hex[:8]}")
    pending = vault.new_version(ctx.new_record("landing", dataset_id, pending_dir, state="writing"))
    tmp_rel = f"{pending_dir}/source.{ext}"
    digest = hashlib.sha256()
    size = 0
    cap = max_source_bytes()
    try:
        with ctx.root.open_write(tmp_rel, version=pending) as dst:
            while chunk := src.read(min(CHUNK, cap + 1 - size)):
                digest.update(chunk)
                size += len(chunk)
                if size > cap:
                    raise SourceTooLarge(f"dataset {dataset_id}: source {source_uri} is larger than the landing "
                                         f"cap of {cap:,} bytes (PACTLINE_MAX_SOURCE_BYTES); nothing was kept. "
                                         "Split it into partitions (a folder or glob) or raise the cap")
                dst.write(chunk)
    except BaseException as e:  # nothing half-copied stays: too large, gone, changed while read, interrupted
        reason = {SourceTooLarge: "source too large", FileNotFoundError: "source not found"}.get(
            type(e), "copy failed")
        _discard(ctx, pending.version_id, pending_dir, reason)
        raise
    if size == 0:
        _discard(ctx, pending.version_id, pending_dir, "source empty")
        raise DataError(f"dataset {dataset_id}: source {source_uri} is empty")
    sha = digest.hexdigest()
    version_dir = ctx.landing(dataset_id, sha)
    data_rel = f"{version_dir}/source.{ext}"
    manifest = {
        "zone": "landing", "agreement_id": ctx.loaded.id, "fingerprint": ctx.loaded.fingerprint,
        "dataset": dataset_id, "source_uri": source_uri, "format": ext, "sha256": sha, "bytes": size,
        "ingested_at": dt.datetime.now(dt.UTC).isoformat(), "run_id": ctx.run_id, "encryption": "envelope/AES-256-GCM",
        **(extra or {}),
    }
    existing = vault.catalog.at(version_dir)
    if existing is not None and existing.state == "writing":
        # an ingest of the same bytes was killed after claiming this folder: finish or drop its copy
        if ctx.root.exists(data_rel):
            ctx.root.write_json(f"{version_dir}/manifest.json", {**manifest, "version_id": existing.version_id})
            existing = vault.catalog.update(existing.version_id, expect=["writing"], state="live")
        else:
            _discard(ctx, existing.version_id, version_dir, "interrupted ingest")
            existing = None
    if existing is None:
        try:  # claim the folder first: of two ingests racing with the same bytes, one wins, one reuses
            vault.catalog.update(pending.version_id, expect=["writing"], base=version_dir)
        except Exception:
            existing = vault.catalog.at(version_dir)
            if existing is None:
                raise
    reused = existing is not None
    if existing is not None:
        # same bytes already landed: versions are immutable, keep the first; this copy never was a version
        _discard(ctx, pending.version_id, pending_dir, "duplicate of a landed version")
        version_id = existing.version_id
    else:
        ctx.root.move(tmp_rel, data_rel)
        ctx.root.delete(pending_dir, recursive=True)
        ctx.root.write_json(f"{version_dir}/manifest.json", {**manifest, "version_id": pending.version_id})
        vault.catalog.update(pending.version_id, expect=["writing"], state="live")
        version_id = pending.version_id
    return {"dataset": dataset_id, "landing": data_rel, "sha256": sha, "bytes": size, "reused": reused,
            "source_uri": source_uri, "format": ext, "version_id": version_id}


def _discard(ctx: RunContext, version_id: str, folder: str, why: str) -> None:
    """Drop a pending copy that never became a version: its key, its files, its catalog row."""
    assert ctx.vault is not None
    ctx.vault.keyring.destroy(version_id, f"ingest discarded: {why}")
    ctx.root.delete(folder, recursive=True)
    ctx.vault.catalog.delete(version_id)


def ingest_partition(ctx: RunContext, dataset_id: str, partition: dict[str, Any]) -> dict[str, Any]:
    p = Partition.from_dict(partition)
    ds = ctx.agreement.dataset(dataset_id)
    try:
        root, _ = locate_source(ctx.loaded, dataset_id)
        with open_partition(p, root) as fh:
            result = land(ctx, dataset_id, fh, source_uri=ds.source.uri, ext=ds.source.format,
                          extra={"partition": p.name})
    except FileNotFoundError:
        raise DataError(f"dataset {dataset_id}: partition {p.name} of {ds.source.uri} not found") from None
    result = {**result, "partition": p.name, "index": p.index}
    ctx.record("data.ingested", **result)
    return {**result, "of": p.of}
