"""A steward's free-text comment (approval, incident acknowledgement) as it is stored in the ledger:
control characters removed, stripped, bounded. One rule for every form that takes a comment."""

from __future__ import annotations

MAX_COMMENT = 2000


def clean_comment(text: str | None) -> str:
    return "".join(ch for ch in (text or "") if ch in "\n\t" or ch >= " ").strip()[:MAX_COMMENT]
