"""tldextract without the network: Presidio's email validation reads only the bundled public-suffix snapshot.

Its own module so the engine (which pins it when it builds) and the recognizers (whose email recognizer
validates with it) both import it without importing each other.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tldextract import TLDExtract


@functools.cache
def offline_tld_extractor() -> TLDExtract:
    """A TLDExtract that never fetches: no URLs, no disk cache, the snapshot bundled in the wheel."""
    import tldextract

    return tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)


def pin_tldextract_offline() -> None:
    """Make tldextract's module-level default extractor offline too.

    Presidio's stock EmailRecognizer calls `tldextract.extract`, whose default instance tries the
    network on first use. Our engine uses its own recognizer, but vanilla Presidio engines built in
    the same process (baselines, a caller's own analyzer) must not reach out either.
    """
    import tldextract.tldextract as tld_module

    tld_module.TLD_EXTRACTOR = offline_tld_extractor()
