"""PII discovery and free-text redaction (Presidio recognizers + spaCy NER, offline).

- engine.py: the cached, offline engine (NER-only spaCy pipeline + recognizers)
- recognizers.py: pattern recognizers with triggers, context words and checksums
- classify.py: classify_table -> ScanReport (one verdict per column, with its evidence and the rule)
- headers.py + headers.yaml: the multilingual column-name dictionary (extensible per deployment)
- shapes.py + values.yaml: whole-value shapes with checksums, art. 9 value dictionaries
- quasi.py: quasi-identifier combinations (counts only)
- source_scan.py: an agreement dataset's quasi-identifiers for `pactline plan --scan`
- text.py: redact_text / scan_text for free-text columns
- report.py: ScanReport / ColumnReport, masked examples
- io.py: read a CSV/Parquet file for `pactline scan`
"""

from pactline.pii.classify import classify_table
from pactline.pii.engine import DEFAULT_MODEL, PiiEngine, get_engine, vanilla_analyzer
from pactline.pii.report import ColumnReport, ScanReport
from pactline.pii.text import TextScan, redact_text, scan_text

__all__ = [
    "DEFAULT_MODEL",
    "ColumnReport",
    "PiiEngine",
    "ScanReport",
    "TextScan",
    "classify_table",
    "get_engine",
    "redact_text",
    "scan_text",
    "vanilla_analyzer",
]
