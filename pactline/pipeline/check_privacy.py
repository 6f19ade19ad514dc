"""check_privacy: k-anonymity, l-diversity, residual PII and feature leakage on the data to release, with Great
Expectations. Given the mapped and protected tables, the raw identifiers of the released rows join the check for
privacy.feature_leakage's identifier mapping (pactline.pipeline.leakage aligns them)."""

from __future__ import annotations

from typing import Any

from pactline.pipeline.context import RunContext
from pactline.pipeline.gates import finish, local_reports
from pactline.pipeline.leakage import raw_identifiers


def check_privacy(ctx: RunContext, dataset_id: str, released: str, kind: str = "privacy", *,
                  mapped: str | None = None, protected: str | None = None) -> dict[str, Any]:
    from pactline.checks import check_privacy as run
    from pactline.checks import docs_dir_for

    table = ctx.root.read_table(released)
    identifiers = raw_identifiers(ctx, dataset_id, table, mapped=mapped, protected=protected)
    with local_reports(ctx, dataset_id) as out:
        result = run(table, ctx.loaded, dataset_id, run_id=ctx.run_id, identifiers=identifiers,
                     docs_dir=docs_dir_for(out, ctx.loaded, dataset_id, kind))
        result.kind = kind
        return finish(ctx, dataset_id, kind, result, out)
