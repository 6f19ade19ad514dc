"""An agreed transformation in one line of words, as the OpenLineage events and the ODCS contracts name it."""

from __future__ import annotations

import json
from typing import Any


def describe_transformation(transformation: dict[str, Any]) -> str:
    """`kind(param=value, ...)` from a transformation as the agreement holds it (JSON values, sorted, the empty
    ones and the examples left out): agreement terms only, never data."""
    params = {k: v for k, v in transformation.items() if k not in ("kind", "examples") and v not in (None, [], "", {})}
    detail = ", ".join(f"{k}={json.dumps(v, sort_keys=True)}" for k, v in sorted(params.items()))
    return f"{transformation['kind']}({detail})" if detail else transformation["kind"]
