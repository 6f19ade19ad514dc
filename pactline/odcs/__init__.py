"""Open Data Contract Standard (ODCS v3) contracts out of an agreement's outputs, and dataset blocks in from them."""

from pactline.odcs.contract import read_contract, validate_contract
from pactline.odcs.export import export_contracts
from pactline.odcs.importer import draft_from_contract

__all__ = ["draft_from_contract", "export_contracts", "read_contract", "validate_contract"]
