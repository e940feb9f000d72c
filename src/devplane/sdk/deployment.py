"""Wire types for deployment-level endpoints."""

from __future__ import annotations

from pydantic import BaseModel


class BuildInfo(BaseModel):
    version: str
    access_url: str


class Experiment(BaseModel):
    name: str
    description: str
