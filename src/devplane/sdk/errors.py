"""The error envelope every devplane error answers with, and the SDK's typed exception."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ValidationError(BaseModel):
    field: str = Field(description="The request field that is wrong, dotted for nested fields.")
    detail: str = Field(description="What is wrong with it and how to fix it.")


class Response(BaseModel):
    """Error envelope (coder's `codersdk.Response`)."""

    message: str
    detail: str | None = None
    validations: list[ValidationError] | None = None


class DevplaneError(Exception):
    """Raised by `Client` for every non-2xx answer; carries the envelope."""

    def __init__(self, status_code: int, response: Response, headers: dict[str, str] | None = None) -> None:
        self.status_code = status_code
        self.response = response
        self.headers = headers or {}
        text = f"{status_code}: {response.message}"
        if response.detail:
            text += f" ({response.detail})"
        if response.validations:
            text += "; " + "; ".join(f"{v.field}: {v.detail}" for v in response.validations)
        super().__init__(text)

    @property
    def message(self) -> str:
        return self.response.message
