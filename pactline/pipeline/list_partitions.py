"""list_partitions: what a partitioned dataset's mapped steps expand over."""

from __future__ import annotations

from typing import Any

from pactline.partition import list_partitions as discover
from pactline.pipeline.context import RunContext
from pactline.pipeline.ingest import record_loaded
from pactline.sources import locate_source


def list_partitions(ctx: RunContext, dataset_id: str) -> list[dict[str, Any]]:
    ds = ctx.agreement.dataset(dataset_id)
    record_loaded(ctx, dataset_id)
    root, _ = locate_source(ctx.loaded, dataset_id)  # refused unless inside the provider's source root
    parts = discover(ds.source, ctx.loaded.base_dir, root)
    ctx.record("partitions.listed", dataset=dataset_id, source_uri=ds.source.uri, partitions=len(parts),
               names=[p.name for p in parts][:1000])
    return [p.to_dict() for p in parts]
