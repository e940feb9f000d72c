"""One error envelope for everything: domain errors, validation, routing, and the unexpected."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from devplane.db import outage
from devplane.errors import DomainError
from devplane.sdk.errors import Response, ValidationError

log = structlog.get_logger(__name__)

_HTTP_MESSAGES = {
    404: "Route not found.",
    405: "Method not allowed.",
    413: "Request body too large.",
}

# Envelope models for the OpenAPI document, so every route documents its errors.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": Response, "description": "Invalid input; `validations` names the fields."},
    401: {"model": Response, "description": "Missing, invalid or expired token."},
    403: {"model": Response, "description": "Not allowed."},
    404: {"model": Response, "description": "Not found, or not visible to you."},
    # Database away (issue 9): every route that needs it may answer this, with Retry-After.
    503: {"model": Response, "description": "The database is unavailable; retry after `Retry-After` seconds."},
}


def envelope(
    status: int,
    message: str,
    detail: str | None = None,
    validations: list[ValidationError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Response(message=message, detail=detail, validations=validations)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _detail(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "missing":
        return "This field is required."
    if kind == "json_invalid":
        return "The request body is not valid JSON."
    if kind == "extra_forbidden":
        return "Unknown field."
    msg = str(err.get("msg", "Invalid value."))
    return msg[:1].upper() + msg[1:] + ("" if msg.endswith(".") else ".")


def _document_envelope_only(app: FastAPI) -> None:
    """FastAPI documents a 422 `HTTPValidationError` for every route that takes input, and its
    `ValidationError` schema shadows ours (same name). We answer 400 with the envelope instead,
    so drop the 422s and put our ValidationError back."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    if isinstance(operation, dict):
                        operation.get("responses", {}).pop("422", None)
            schemas = schema.get("components", {}).get("schemas", {})
            schemas.pop("HTTPValidationError", None)
            schemas["ValidationError"] = ValidationError.model_json_schema()
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the schema


def install(app: FastAPI) -> None:
    _document_envelope_only(app)

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        validations = [ValidationError(field=v.field, detail=v.detail) for v in exc.validations or []] or None
        if exc.status_code >= 500:
            log.error("request.failed", error=type(exc).__name__, message=exc.message)
        return envelope(exc.status_code, exc.message, exc.detail, validations, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return envelope(
                400,
                "Request body is not valid JSON.",
                validations=[ValidationError(field="body", detail="The request body is not valid JSON.")],
            )
        validations = [ValidationError(field=_field(tuple(e.get("loc", ()))), detail=_detail(e)) for e in errors]
        return envelope(400, "Validation failed.", validations=validations)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's own 400 is "There was an error parsing the body" (e.g. not UTF-8).
            return envelope(
                400,
                "Request body is not valid JSON.",
                validations=[ValidationError(field="body", detail="The request body could not be read as JSON.")],
            )
        message = _HTTP_MESSAGES.get(exc.status_code) or str(exc.detail)
        return envelope(exc.status_code, message, headers=dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        return unexpected(exc)

    # --- database away (issue 9) ---------------------------------------------------------------
    # Handled here rather than only by the catch-all above: Starlette re-raises what reaches the
    # catch-all after answering, and uvicorn then drops the keep-alive connection.
    for kind in outage.EXCEPTION_TYPES:
        app.add_exception_handler(kind, _database_or_unexpected)


async def _database_or_unexpected(_: Request, exc: Exception) -> JSONResponse:
    return unexpected(exc)


def unexpected(exc: BaseException) -> JSONResponse:
    """500, or 503 with Retry-After when the database is away (db/outage.py)."""
    if outage.is_unavailable(exc):
        log.warning("request.database_unavailable", error=type(exc).__name__)
        return envelope(
            503,
            outage.DatabaseUnavailable.default_message,
            "The database could not be reached in time.",
            headers={"Retry-After": str(outage.RETRY_AFTER_SECONDS)},
        )
    # The type only: exception text can carry SQL parameters or upstream bodies.
    log.error("request.unhandled", error=type(exc).__name__, exc_info=exc)
    return envelope(500, "An internal error occurred.", "The server logged the details; report the request id.")
