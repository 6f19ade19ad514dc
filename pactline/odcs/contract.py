"""An ODCS contract as data: read safely (a contract is untrusted input, like an agreement) and validated against
the `open-data-contract-standard` package's pydantic model and the JSON Schema it ships."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
from open_data_contract_standard.model import OpenDataContractStandard
from pydantic import ValidationError

from pactline.agreement.loader import parse_yaml, read_text
from pactline.errors import AgreementError, Problem

MAX_PROBLEMS = 20


@cache
def _schema_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(files("open_data_contract_standard").joinpath("schema.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def _where(path: Any) -> str:
    return ".".join(str(p) for p in path)


def validate_contract(data: Any, source: str) -> OpenDataContractStandard:
    """The contract as the ODCS model, or AgreementError listing what breaks the standard (paths, not values:
    a contract may quote anything)."""
    if not isinstance(data, dict):
        raise AgreementError(source, [Problem("", None, "an ODCS contract is a mapping (apiVersion, kind, id, ...)")])
    problems = [Problem(_where(e.absolute_path), None, f"does not follow ODCS: {e.validator} {_where(e.schema_path)}")
                for e in sorted(_schema_validator().iter_errors(data), key=lambda e: list(e.absolute_path))]
    try:
        model = OpenDataContractStandard.model_validate(data)
    except ValidationError as e:
        problems += [Problem(_where(err["loc"]), None, f"does not follow ODCS: {err['type']}") for err in e.errors()]
        model = None
    if problems or model is None:
        raise AgreementError(source, problems[:MAX_PROBLEMS])
    return model


def read_contract(path: str | Path) -> dict[str, Any]:
    """A contract file as plain data, validated: size-capped, UTF-8, no YAML anchors or aliases, no duplicate keys,
    bounded nesting (the agreement loader's rules), then the ODCS model and schema."""
    data, _ = parse_yaml(read_text(path), str(path))
    validate_contract(data, str(path))
    return data
