"""PII discovery and free-text redaction (Presidio recognizers + spaCy NER, offline)."""

from pactline.pii.engine import DEFAULT_MODEL, PiiEngine, get_engine
from pactline.pii.text import TextScan, redact_text, scan_text

__all__ = ["DEFAULT_MODEL", "PiiEngine", "TextScan", "get_engine", "redact_text", "scan_text"]
