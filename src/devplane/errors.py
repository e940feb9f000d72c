"""Domain errors. Each carries its HTTP status; one handler in `api` renders the envelope."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    detail: str


class DomainError(Exception):
    status_code = 500
    default_message = "Internal error."

    def __init__(
        self,
        message: str | None = None,
        *,
        detail: str | None = None,
        validations: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.detail = detail
        self.validations = validations
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(DomainError):
    status_code = 400
    default_message = "Invalid request."


class Unauthorized(DomainError):
    status_code = 401
    default_message = "You must be signed in."


class Forbidden(DomainError):
    status_code = 403
    default_message = "Forbidden."


class NotFound(DomainError):
    status_code = 404
    default_message = "Resource not found or you do not have access to this resource."


class Conflict(DomainError):
    status_code = 409
    default_message = "Resource already exists."


class TooManyRequests(DomainError):
    status_code = 429
    default_message = "Too many requests."


class BadGateway(DomainError):
    status_code = 502
    default_message = "Upstream request failed."


class DecryptFailed(DomainError):
    """A stored secret could not be decrypted: an unknown or revoked key, or tampered data."""

    status_code = 500
    default_message = "Failed to decrypt a stored secret."
