"""Delivery to the recipient: releases on the exchange, data keys released under the access grants,
and the recipient's verified fetch into its own encrypted store.

    signed_manifest.py  the provider's party signature over a release manifest
    export.py           publish's hand-over: encrypted files + signed manifest on the exchange
    key_release.py      the provider's checks at the moment of a key request; the key wrapped to the recipient
    fetch.py            the recipient: verify manifest, fingerprint and hashes, request the key, store
"""
