"""API key check, as plain ASGI middleware so it runs before any body is read or route is matched (unknown paths
are guarded too). Open: the health check, for load balancers, and the docs page with its schema, which a browser
cannot send a header to (the page's Authorize button takes the key for the calls made from it)."""

from __future__ import annotations

import hashlib
import hmac
import json

OPEN_PATHS = frozenset({"/healthz", "/docs", "/docs/oauth2-redirect", "/openapi.json"})
HEADER = b"x-api-key"  # ASGI gives header names lower-cased


def _digest(value: bytes) -> bytes:
    # compare digests, not the keys: equal lengths, so the comparison time says nothing about the key's length
    return hashlib.sha256(value).digest()


class ApiKeyMiddleware:
    def __init__(self, app, api_key: str):
        self.app = app
        self._expected = _digest(api_key.encode("utf-8"))

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == HEADER), None)
        if given is not None and hmac.compare_digest(_digest(given), self._expected):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"detail": "missing or wrong API key: send it in the X-API-Key header"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
