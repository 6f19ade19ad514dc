"""The error every erasure module raises."""

from __future__ import annotations

from pactline.errors import PactlineError


class ErasureError(PactlineError):
    """A subject erasure or access request cannot be carried out as asked."""
