"""The recipient's HTTP client for the provider's key release API (stdlib only: one POST with a token).

Credentials: $PACTLINE_API_TOKEN (an Airflow JWT), or $PACTLINE_API_USER / $PACTLINE_API_PASSWORD exchanged
at the provider's /auth/token. Only the URL the deployment configured is ever contacted.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

from pactline.errors import PactlineError, PolicyViolation

TIMEOUT_S = 30


def post_json(url: str, body: dict[str, Any], token: str | None = None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")  # noqa: S310 - the URL the user gave
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:  # noqa: S310
            return resp.status, json.loads(resp.read(1 << 20) or b"{}")
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.loads(e.read(1 << 20) or b"{}")
        except ValueError:
            return e.code, {}


def api_token(api: str) -> str:
    token = os.environ.get("PACTLINE_API_TOKEN")
    if token:
        return token
    user, password = os.environ.get("PACTLINE_API_USER"), os.environ.get("PACTLINE_API_PASSWORD")
    if not (user and password):
        raise PactlineError("--api needs $PACTLINE_API_TOKEN, or $PACTLINE_API_USER and $PACTLINE_API_PASSWORD")
    code, body = post_json(f"{api}/auth/token", {"username": user, "password": password})
    if code not in (200, 201) or "access_token" not in body:
        raise PactlineError(f"{api}/auth/token refused the credentials of {user} (HTTP {code})")
    return str(body["access_token"])


def request_key_over_http(api: str, output: str, party: str, token: str):
    """A KeyRequester asking the provider's API server; a refusal is a PolicyViolation naming the clause."""
    api = api.rstrip("/")

    def request_key(version_id: str) -> dict[str, Any]:
        code, body = post_json(f"{api}/pactline/api/v1/keys/{output}/{version_id}", {"party": party}, token)
        if code != 200:
            raise PolicyViolation(str(body.get("refused") or "access"),
                                  f"the provider refused the key (HTTP {code}): {body.get('message', '')}")
        return body

    return request_key
