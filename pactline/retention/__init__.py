"""Retention and data-subject rights over the encrypted, versioned store.

    due.py        which versions are due on a day, and under which clause
    made_under.py the agreement text each version was made under (by the fingerprint the catalog kept)
    purge.py      crash-safe crypto-shredding with signed receipts in the ledger
    receipts.py   the receipt format, its signature and its verification
    erasure/      subject access reports and subject erasure (match, access, rewrite, ...)
    register.py   the erasure register: erased subjects' tokens, dropped from every later run
    run.py        entry points for the CLI and the DAGs (run_purge, verify_receipts, run_erasure, ...)
"""

from pactline.retention.due import Due, due_date, find_due, load_agreements
from pactline.retention.erasure import ErasureError, ErasureReport, SubjectMatcher, SubjectRequests, VersionHit
from pactline.retention.purge import Purger, PurgeReport
from pactline.retention.run import (
    ReceiptsReport,
    find_agreement,
    run_erasure,
    run_purge,
    subject_report,
    subject_requests,
    verify_receipts,
)

__all__ = [
    "Due",
    "ErasureError",
    "ErasureReport",
    "PurgeReport",
    "Purger",
    "ReceiptsReport",
    "SubjectMatcher",
    "SubjectRequests",
    "VersionHit",
    "due_date",
    "find_agreement",
    "find_due",
    "load_agreements",
    "run_erasure",
    "run_purge",
    "subject_report",
    "subject_requests",
    "verify_receipts",
]
