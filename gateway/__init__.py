"""The member-facing HTTP service (FastAPI) and its web page (the audit explorer).

Public surface: `create_app`/`build_services` (the app factory), `Settings`, and the
signing client `GatewayClient` with its `RequestDomain`.
"""

from gateway.app import build_services, create_app
from gateway.auth import RequestDomain
from gateway.client import GatewayClient
from gateway.settings import Settings

__all__ = ["GatewayClient", "RequestDomain", "Settings", "build_services", "create_app"]
