"""check_privacy: k-anonymity, l-diversity and residual PII on the data to release, with Great Expectations."""

from __future__ import annotations

from typing import Any

from pactline.pipeline.context import RunContext
from pactline.pipeline.gates import finish, local_reports


def check_privacy(ctx: RunContext, dataset_id: str, released: str, kind: str = "privacy") -> dict[str, Any]:
    from pactline.checks import check_privacy as run
    from pactline.checks import docs_dir_for

    table = ctx.root.read_table(released)
    with local_reports(ctx, dataset_id) as out:
        result = run(table, ctx.loaded, dataset_id, run_id=ctx.run_id,
                     docs_dir=docs_dir_for(out, ctx.loaded, dataset_id, kind))
        result.kind = kind
        return finish(ctx, dataset_id, kind, result, out)
