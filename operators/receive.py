"""The recipient's receive step: poll the exchange, fetch and verify the newest release, store it.

The data key comes from the provider's API server named by the Airflow Connection
`pactline_provider_api` (host = the API server's URL, login/password = the Airflow user an `access:`
grant names); without that Connection (the embedded default, one deployment for every party) it is
released locally to the principal in $PACTLINE_PRINCIPAL.
"""

from __future__ import annotations

import os
from typing import Any

from operators.base import PactlineOperator
from pactline.delivery.fetch import KeyRequester, receive_newest
from pactline.errors import PactlineError
from pactline.parties import PartyKeys
from pactline.pipeline.context import RunContext

PROVIDER_API_CONNECTION = "pactline_provider_api"


def _provider_api() -> tuple[str, str, str] | None:
    from airflow.sdk import Connection

    try:
        conn = Connection.get(PROVIDER_API_CONNECTION)
    except Exception:
        return None
    url = conn.host if "://" in (conn.host or "") else f"{conn.schema or 'http'}://{conn.host}:{conn.port or 8080}"
    return url, conn.login or "", conn.password or ""


def key_requester(ctx: RunContext, output_id: str, party: str) -> KeyRequester:
    from pactline.delivery.client import post_json, request_key_over_http
    from pactline.delivery.key_release import KeyRequest, release_key

    api = _provider_api()
    if api is not None:
        url, user, password = api
        code, body = post_json(f"{url.rstrip('/')}/auth/token", {"username": user, "password": password})
        if code not in (200, 201) or "access_token" not in body:
            raise PactlineError(f"the provider's API server refused the credentials of {PROVIDER_API_CONNECTION} "
                                f"(HTTP {code})")
        return request_key_over_http(url, output_id, party, str(body["access_token"]))
    principal = os.environ.get("PACTLINE_PRINCIPAL")
    if not principal:
        raise PactlineError(f"set the Airflow Connection {PROVIDER_API_CONNECTION} (the provider's API server) or, "
                            "on the embedded default, $PACTLINE_PRINCIPAL (the access: principal to receive as)")
    assert ctx.vault is not None
    return lambda version_id: release_key(ctx.loaded, KeyRequest(version_id, principal, party), as_of=ctx.as_of,
                                          vault=ctx.vault, record=ctx.recorder, party_keys=PartyKeys(ctx.keystore))


class ReceiveOperator(PactlineOperator):
    step_kind = "receive"
    ui_color = "#e0f2f1"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        output_id = self.step_params["output"]
        recipient = next(o.recipient for o in ctx.agreement.outputs if o.id == output_id)
        return receive_newest(ctx.loaded, output_id, request_key=key_requester(ctx, output_id, recipient),
                              root=ctx.root, record=ctx.recorder, party_keys=PartyKeys(ctx.keystore))
