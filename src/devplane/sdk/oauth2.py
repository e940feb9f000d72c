"""Wire types of devplane's OAuth2 provider: its metadata documents and the admin API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, Field

AuthMethod = Literal["none", "client_secret_basic", "client_secret_post"]


class AuthorizationServerMetadata(BaseModel):
    """RFC 8414 document at /.well-known/oauth-authorization-server."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str
    registration_endpoint: str | None = Field(None, description="Only while dynamic client registration is on.")
    response_types_supported: list[str]
    grant_types_supported: list[str]
    code_challenge_methods_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    revocation_endpoint_auth_methods_supported: list[str]
    scopes_supported: list[str]
    authorization_response_iss_parameter_supported: bool


class ProtectedResourceMetadata(BaseModel):
    """RFC 9728 document for the MCP gateway."""

    resource: str
    authorization_servers: list[str]
    scopes_supported: list[str]
    bearer_methods_supported: list[str]
    resource_name: str


class OAuth2ProviderSettings(BaseModel):
    dynamic_client_registration: bool = Field(description="Whether MCP clients may register themselves (RFC 7591).")


class UpdateOAuth2ProviderSettingsRequest(BaseModel):
    dynamic_client_registration: bool


class OAuth2App(BaseModel):
    id: uuid.UUID = Field(description="The OAuth2 client_id.")
    name: str
    redirect_uris: list[str]
    token_endpoint_auth_method: AuthMethod
    dynamically_registered: bool = Field(description="Registered by the client itself (shown as unverified).")
    created_at: dt.datetime
    updated_at: dt.datetime


class CreateOAuth2AppRequest(BaseModel):
    name: str
    redirect_uris: list[str] = Field(description="Exact URIs; loopback http URIs match any port.")
    token_endpoint_auth_method: AuthMethod = Field(
        "client_secret_basic", description="'none' for public clients (no secret; PKCE only)."
    )


class OAuth2AppSecret(BaseModel):
    id: uuid.UUID
    app_id: uuid.UUID
    secret_prefix: str = Field(description="The public part of the secret, to tell secrets apart.")
    created_at: dt.datetime


class CreateOAuth2AppSecretResponse(BaseModel):
    secret: OAuth2AppSecret
    client_secret: str = Field(description="Shown once; only its hash is stored.")


class AuthorizedOAuth2App(BaseModel):
    app_id: uuid.UUID
    name: str
    dynamically_registered: bool
    scopes: list[str]
    audiences: list[str]
    last_authorized_at: dt.datetime


class OAuth2ErrorBody(BaseModel):
    """RFC 6749 §5.2 error: what the protocol endpoints answer instead of devplane's envelope."""

    error: str
    error_description: str | None = None


class OAuth2TokenResponse(BaseModel):
    """RFC 6749 §5.1. The access token works on the MCP gateway only."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    refresh_token: str
    scope: str


class OAuth2ClientRegistration(BaseModel):
    """RFC 7591 §3.2.1 / RFC 7592 client information."""

    client_id: str
    client_id_issued_at: int
    client_name: str
    redirect_uris: list[str]
    token_endpoint_auth_method: AuthMethod
    grant_types: list[str]
    response_types: list[str]
    scope: str
    registration_client_uri: str
    registration_access_token: str | None = Field(None, description="Only in the registration answer.")
    client_secret: str | None = Field(None, description="Confidential clients, in the registration answer only.")
    client_secret_expires_at: int | None = None
