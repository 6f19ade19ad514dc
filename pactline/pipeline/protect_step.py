"""protect: apply to every column exactly the transformation the agreement allows.

The only deviation allowed is a stricter one decided by scan_pii under the agreement's
privacy.on_undeclared_pii clause (drop, redact, or redact_text a column found to hold PII).
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from typing import Any

from pactline.agreement.model import Dataset
from pactline.agreement.transformations import Drop, Redact, RedactText
from pactline.errors import PolicyViolation
from pactline.pipeline.context import RunContext
from pactline.pipeline.known_identifiers import redact_known_identifiers
from pactline.policy import Policy

STRICTER = {"drop": Drop, "redact": Redact, "redact_text": RedactText}


def with_overrides(ds: Dataset, overrides: dict[str, str]) -> Dataset:
    columns = dict(ds.columns)
    for name, kind in overrides.items():
        if kind not in STRICTER or name not in columns:
            raise PolicyViolation("privacy.on_undeclared_pii", f"override {kind!r} of column {name!r} is not allowed")
        columns[name] = columns[name].model_copy(update={"transformation": STRICTER[kind]()})
    return ds.model_copy(update={"columns": columns})


def protect(ctx: RunContext, dataset_id: str, mapped: str, overrides: dict[str, str] | None = None) -> dict[str, Any]:
    from pactline.protect import protect_table

    ds = ctx.agreement.dataset(dataset_id)
    policy = Policy(ctx.loaded)
    for name, col in ds.columns.items():  # re-checked at run time: the engine obeys the policy, not the DAG
        policy.require_transformation(dataset_id, name, col.transformation.kind)
    effective = with_overrides(ds, overrides or {})
    table = ctx.root.read_table(mapped)
    table, known = redact_known_identifiers(table, effective)
    protected, actions = protect_table(table, effective, keys=ctx.keys)
    out_rel = ctx.staging(dataset_id, "protected.parquet")
    ctx.root.write_table(out_rel, protected)
    summary = [asdict(a) if is_dataclass(a) else dict(a) for a in actions]
    for action in summary:
        ctx.record("transform.applied", dataset=dataset_id, **action)
    version = ctx.version_for(out_rel)
    return {"dataset": dataset_id, "staging": out_rel, "version_id": version.version_id if version else None,
            "rows": protected.num_rows,
            "columns": protected.schema.names, "overrides": overrides or {}, "actions": summary,
            "known_identifiers_redacted": known}
