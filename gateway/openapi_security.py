"""The OpenAPI document's security scheme, signing rules and links between operations.

The schema tells a client which headers to send; it cannot tell it how to fill them (the
signature is over the exact request), so the description states the signing rules and points
at `gateway.client.GatewayClient`, which follows them. Links say which answer feeds which
request (the job id POST /jobs returns is the one GET /jobs/{job_id} takes), for readers
and for stateful API testing.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from gateway.auth import CALLER_HEADER, NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER

SIGNING_RULES = (
    "Every API request except `GET /domain` and the transport route is signed: EIP-712, domain "
    "'Custos Gateway' version 1 with the chain id and the Consortium contract as verifyingContract "
    "(both from `GET /domain`), message `Request(string method,string path,bytes32 bodyHash,address caller,"
    "address gateway,uint64 timestamp,bytes32 nonce)`. The rules: `method` is upper-case (`GET`, `POST`); "
    "`path` is the raw request target exactly as sent, path plus `?query` when there is a query and no `?` "
    "at all when the query is empty; `bodyHash` is keccak256 of the raw body bytes (of zero bytes when there "
    "is no body); `gateway` is the member the gateway acts for (`GET /domain`); `timestamp` is Unix seconds "
    "and must be within 60 s of the gateway's clock; `nonce` is 32 random bytes, never reused. The headers: "
    "X-Custos-Caller (address), X-Custos-Timestamp (decimal), X-Custos-Nonce (0x + 64 hex), "
    "X-Custos-Signature (0x + 130 hex). `gateway.client.GatewayClient` (or `custos gateway call`) signs "
    "for you. Errors are JSON `{code, message}`; 413 above the body limit, 429 with Retry-After above the "
    "rate limits."
)
_SCHEMES = {
    "CustosCaller": CALLER_HEADER,
    "CustosTimestamp": TIMESTAMP_HEADER,
    "CustosNonce": NONCE_HEADER,
    "CustosSignature": SIGNATURE_HEADER,
}


# (operation, status) → link name → (target operation, parameter, where in the answer)
_LINKS: dict[tuple[str, str, str], dict[str, tuple[str, str, str]]] = {
    ("/jobs", "post", "201"): {
        "ReadJob": ("/jobs/{job_id}", "get", "job_id"),
        "ReadJobTrail": ("/audit/jobs/{job_id}", "get", "job_id"),
        "Consent": ("/jobs/{job_id}/consent", "post", "job_id"),
    },
    ("/sources", "post", "201"): {
        "ReadSource": ("/sources/{source_id}", "get", "source_id"),
        "ReadSourceTrail": ("/audit/sources/{source_id}", "get", "source_id"),
        "NewVersion": ("/sources/{source_id}/versions", "post", "source_id"),
    },
    ("/proposals", "post", "201"): {
        "ReadProposal": ("/proposals/{proposal_id}", "get", "proposal_id"),
        "Approve": ("/proposals/{proposal_id}/approve", "post", "proposal_id"),
        "Execute": ("/proposals/{proposal_id}/execute", "post", "proposal_id"),
    },
    ("/members/me", "get", "200"): {
        "ReadMember": ("/members/{address}", "get", "address"),
        "ReadMemberTrail": ("/audit/members/{address}", "get", "address"),
    },
}


def _add_links(paths: dict[str, Any]) -> None:
    for (path, method, status), links in _LINKS.items():
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            continue
        response["links"] = {
            name: {
                "operationId": paths[target][target_method]["operationId"],
                "parameters": {field: f"$response.body#/{field}"},
            }
            for name, (target, target_method, field) in links.items()
            if target in paths and target_method in paths[target]
        }


def _scheme(header: str) -> dict[str, Any]:
    name = "-".join(part.capitalize() for part in header.split("-"))
    return {"type": "apiKey", "in": "header", "name": name, "description": f"{name}: see the signing rules"}


def install_security_scheme(app: FastAPI) -> None:
    """Declare the X-Custos headers on every operation that answers 401, and the links between operations."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            schema.setdefault("components", {})["securitySchemes"] = {k: _scheme(v) for k, v in _SCHEMES.items()}
            requirement: list[dict[str, list[str]]] = [dict.fromkeys(_SCHEMES, [])]
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    if "401" in operation.get("responses", {}):
                        operation["security"] = requirement
            _add_links(schema.get("paths", {}))
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the schema
