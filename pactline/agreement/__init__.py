"""The agreement: model, safe loader, fingerprint."""

from pactline.agreement.loader import LoadedAgreement, canonical_text, fingerprint, load_agreement, load_text
from pactline.agreement.model import Agreement, Column, Dataset, Output

__all__ = ["Agreement", "Column", "Dataset", "LoadedAgreement", "Output", "canonical_text", "fingerprint", "load_agreement", "load_text"]
