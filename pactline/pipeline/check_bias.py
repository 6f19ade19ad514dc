"""check_bias: the agreed bias checks on the released data and their drift from the raw data."""

from __future__ import annotations

from typing import Any

from pactline.pipeline.context import RunContext
from pactline.pipeline.gates import finish, local_reports


def check_bias(ctx: RunContext, dataset_id: str, mapped: str, released: str, kind: str = "bias") -> dict[str, Any]:
    from pactline.checks import check_bias as run
    from pactline.checks import docs_dir_for

    raw, table = ctx.root.read_table(mapped), ctx.root.read_table(released)
    with local_reports(ctx, dataset_id) as out:
        result = run(raw, table, ctx.loaded, dataset_id, run_id=ctx.run_id,
                     docs_dir=docs_dir_for(out, ctx.loaded, dataset_id, kind))
        result.kind = kind
        return finish(ctx, dataset_id, kind, result, out)
