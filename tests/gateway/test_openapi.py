"""schemathesis against the gateway's own OpenAPI schema: no 5xx, no response off its schema.

Every generated request is signed by a member (a `requests` auth hook over the exact bytes
sent), so the generated data reaches the routes instead of stopping at authentication.
Bounded: `_EXAMPLES` positive and `_EXAMPLES` negative cases per operation. (schemathesis'
pytest plugin does not run under pytest 9, so the test drives hypothesis itself.)
"""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode, checks

from gateway.auth import sign_request

from .conftest import Gateway

_EXAMPLES = 15
_CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.negative_data_rejection,
]


class _SignedAuth(requests.auth.AuthBase):
    """Signs each prepared request exactly as sent, like gateway.client does for httpx."""

    def __init__(self, gateway: Gateway, key: bytes) -> None:
        self.gateway, self.key = gateway, key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else body
        signed = sign_request(
            self.key,
            self.gateway.domain,
            request.method or "GET",
            request.path_url,
            body,
            int(self.gateway.clock.now()),
        )
        request.headers.update(signed.as_headers())
        return request


@pytest.fixture(scope="module")
def api_schema(gateway: Gateway) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(gateway.url + "/openapi.json")


def _operations(schema: schemathesis.BaseSchema, mode: GenerationMode) -> list[schemathesis.APIOperation]:
    operations = [result.ok() for result in schema.get_all_operations()]
    if mode is GenerationMode.NEGATIVE:  # without parameters (any bytes are a valid envelope) nothing is invalid
        operations = [op for op in operations if op.definition.raw.get("parameters")]
    return operations


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_api_conforms_to_its_schema(
    api_schema: schemathesis.BaseSchema, gateway: Gateway, mode: GenerationMode
) -> None:
    session = requests.Session()
    session.auth = _SignedAuth(gateway, gateway.key("bank"))
    operations = _operations(api_schema, mode)
    assert operations
    calls: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        # No shrinking: a failure is reported as found, instead of replayed against a real chain for minutes.
        @settings(
            max_examples=_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
        )
        def check(case: schemathesis.Case) -> None:
            response = case.call_and_validate(session=session, timeout=60, checks=_CHECKS)
            calls.append(response.status_code)

        check()
    assert 500 not in calls and len(calls) >= len(operations)
    print(f"schemathesis {mode.value}: {len(calls)} requests, statuses {sorted(set(calls))}")
