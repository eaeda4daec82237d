"""Explorer session bodies."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SessionPublic(BaseModel):
    """A one-time link that signs a browser into the audit explorer."""

    login_path: str = Field(description="Open this path on the gateway in a browser, once, within two minutes")
    expires_at: float = Field(description="Unix time after which the link no longer works")


class SessionsRevokedPublic(BaseModel):
    """How many explorer sessions of the caller were ended on the server."""

    revoked: int = Field(description="Sessions ended; their cookies no longer sign anyone in")
