"""check_quality: the agreement's quality rules on the mapped data, with Great Expectations."""

from __future__ import annotations

from typing import Any

from pactline.pipeline.context import RunContext
from pactline.pipeline.gates import finish, local_reports


def check_quality(ctx: RunContext, dataset_id: str, mapped: str) -> dict[str, Any]:
    from pactline.checks import check_quality as run
    from pactline.checks import docs_dir_for

    table = ctx.root.read_table(mapped)
    with local_reports(ctx, dataset_id) as out:
        result = run(table, ctx.loaded, dataset_id, run_id=ctx.run_id,
                     docs_dir=docs_dir_for(out, ctx.loaded, dataset_id, "quality"))
        return finish(ctx, dataset_id, "quality", result, out)
