"""Data-subject rights: find every live version holding a subject, and erase the subject from them.

    match.py     the subject's identifier columns and tokens; which rows and texts hold it
    files.py     a version's files as erasure reads them (tables decrypted as they stream, loose files)
    access.py    the subject access report: the live versions holding the subject, rows per file
    rewrite.py   a version rewritten without the subject (same layout, agreement text, retention clock)
    landing.py   a rewritten landing copy re-addressed by its new content hash, as ingest addresses one
    manifest.py  the rewritten version's manifest (its files, the erasure, lineage to moved landing copies)
    request.py   a request end to end: register the tokens, rewrite, crypto-shred the old versions
    errors.py    ErasureError

Erasure writes, for each version holding the subject, a new version without those rows (it keeps
the old version's created_at), then crypto-shreds the old one with a receipt (clause
"data_subject_erasure", ledger event "erasure"). The subject's tokens go to the erasure register
(pactline.retention.register): later runs drop the subject's rows at map_schema, so a partner's next
delivery of the same file does not bring the subject back.

Neither the subject nor its token is ever written to the ledger, a manifest, a receipt or a log.
"""

from pactline.retention.erasure.access import SubjectAccess, VersionHit, dataset_of
from pactline.retention.erasure.errors import ErasureError
from pactline.retention.erasure.match import TOKEN_KINDS, Identifier, SubjectMatcher
from pactline.retention.erasure.request import CLAUSE, ErasureReport, SubjectRequests
from pactline.retention.erasure.rewrite import ERASED

__all__ = [
    "CLAUSE",
    "ERASED",
    "TOKEN_KINDS",
    "ErasureError",
    "ErasureReport",
    "Identifier",
    "SubjectAccess",
    "SubjectMatcher",
    "SubjectRequests",
    "VersionHit",
    "dataset_of",
]
