"""Cross-site request forgery protection: a signed double-submit token tied to the user.

A token is `<issued>.<nonce>.<mac>` with mac = HMAC-SHA256(secret, user | issued | nonce). The
page sets it in a cookie (SameSite=Strict, HttpOnly) and in each form; a POST is accepted only when
the form's token equals the cookie's, its MAC is valid for the signed-in user, and it is not older
than `max_age`. A page on another site can neither read the cookie nor forge a MAC, and a token
stolen from one user is worthless to another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

COOKIE = "pactline_csrf"
FIELD = "csrf_token"
MAX_AGE = 12 * 3600


def derive_secret(app_secret: str | bytes) -> bytes:
    """A key for CSRF tokens only, derived from the application's secret."""
    raw = app_secret.encode() if isinstance(app_secret, str) else app_secret
    return hashlib.sha256(b"pactline-csrf/v1\x00" + raw).digest()


def _mac(secret: bytes, user: str, issued: str, nonce: str) -> str:
    digest = hmac.new(secret, f"{user}|{issued}|{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue(secret: bytes, user: str, now: float | None = None) -> str:
    issued = str(int(time.time() if now is None else now))
    nonce = secrets.token_urlsafe(16)
    return f"{issued}.{nonce}.{_mac(secret, user, issued, nonce)}"


def valid_for(secret: bytes, user: str, token: str | None, now: float | None = None,
              max_age: int = MAX_AGE) -> bool:
    """True when `token` was issued to `user` with this secret and is not expired."""
    if not token or len(token) > 200:
        return False
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit():
        return False
    issued, nonce, mac = parts
    age = (time.time() if now is None else now) - int(issued)
    if age < -60 or age > max_age:
        return False
    return hmac.compare_digest(mac, _mac(secret, user, issued, nonce))


def check(secret: bytes, user: str, form_token: str | None, cookie_token: str | None,
          now: float | None = None, max_age: int = MAX_AGE) -> str | None:
    """None when the request passes; else why it is refused."""
    if not form_token or not cookie_token:
        return "missing CSRF token: reload the page and submit again"
    if not hmac.compare_digest(form_token, cookie_token):
        return "CSRF token mismatch: reload the page and submit again"
    if not valid_for(secret, user, form_token, now, max_age):
        return "invalid or expired CSRF token: reload the page and submit again"
    return None
