"""Every error leaves the server as a small JSON body: `{"detail": ...}`, FastAPI's own shape.

Validation errors never echo the input back (a 1 MB text would come back as a 1 MB error), and
anything unexpected becomes a 500 without taking the process down.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

log = logging.getLogger("fintune.serve")
MAX_ERRORS = 20  # a body of 10,000 wrong values should not produce 10,000 error entries


async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    """400 for a body that is not JSON at all, 422 for JSON that breaks the schema."""
    errors = exc.errors()
    detail = []
    for err in errors[:MAX_ERRORS]:
        msg = str(err.get("msg", "invalid"))
        reason = (err.get("ctx") or {}).get("error")
        if err.get("type") == "json_invalid" and reason:
            msg = f"{msg}: {reason}"
        detail.append({"loc": [str(part) for part in err.get("loc", ())], "msg": msg, "type": err.get("type")})
    if len(errors) > MAX_ERRORS:
        detail.append({"loc": [], "msg": f"... and {len(errors) - MAX_ERRORS} more errors", "type": "truncated"})
    status = 400 if any(err.get("type") == "json_invalid" for err in errors) else 422
    return JSONResponse({"detail": detail}, status_code=status)


async def unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": f"internal error ({type(exc).__name__}); see the server log"}, status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(Exception, unexpected)
