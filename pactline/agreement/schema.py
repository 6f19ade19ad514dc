"""The agreement's JSON Schema, generated from the model (include/agreement.schema.json holds a copy)."""

from __future__ import annotations

import json
from typing import Any

from pactline.agreement.model import Agreement

SCHEMA_ID = "https://pactline.dev/schemas/agreement/v1.json"


def json_schema() -> dict[str, Any]:
    schema = Agreement.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "Pactline data sharing agreement (pactline/v1)", **schema}


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
