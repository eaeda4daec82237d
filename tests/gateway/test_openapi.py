"""schemathesis against the gateway's own OpenAPI schema: no 5xx, no response off its schema.

Every generated request is signed by a member (a `requests` auth hook over the exact bytes
sent), so the generated data reaches the routes instead of stopping at authentication.
Bounded: `_EXAMPLES` positive and `_EXAMPLES` negative cases per operation. (schemathesis'
pytest plugin does not run under pytest 9, so the test drives hypothesis itself.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode, checks

from gateway.auth import sign_request
from gateway.settings import RateLimits

from .conftest import Consortium, Gateway, running_gateway

_EXAMPLES = 50
_STATEFUL_EXAMPLES = 20
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
def gateway(consortium: Consortium, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """The gateway with rate limits out of the way: the fuzzer's thousands of requests reach the routes."""
    unlimited = RateLimits(ip_burst=10**9, caller_burst=10**9, transport_burst=10**9)
    with running_gateway(consortium, tmp_path_factory.mktemp("fuzzed"), limits=unlimited) as running:
        yield running


@pytest.fixture(scope="module")
def api_schema(gateway: Gateway) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_url(gateway.url + "/openapi.json")
    # The X-Custos headers are the auth hook's to fill (a signature over the exact request), not the generator's.
    schema.config.generation.update(with_security_parameters=False)
    return schema


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

        started = time.perf_counter()
        check()
        print(f"{operation.method.upper()} {operation.path}: {time.perf_counter() - started:.1f}s")
    assert 500 not in calls and len(calls) >= len(operations)
    print(f"schemathesis {mode.value}: {len(calls)} requests, statuses {sorted(set(calls))}")


def test_stateful_sequences_follow_the_links(api_schema: schemathesis.BaseSchema, gateway: Gateway) -> None:
    """Chains of calls along the schema's links (open a source, read it, add a version; ...): no 5xx."""
    session = requests.Session()
    session.auth = _SignedAuth(gateway, gateway.key("bank"))
    statuses: list[int] = []

    class Machine(api_schema.as_state_machine()):  # type: ignore[misc]  # schemathesis builds the state machine class at run time
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
            return {"session": session, "timeout": 60}

        def after_call(self, response: requests.Response, case: schemathesis.Case) -> None:
            statuses.append(response.status_code)

        def validate_response(  # type: ignore[override]  # schemathesis' hook takes **kwargs we do not use
            self, response: requests.Response, case: schemathesis.Case, **kwargs: object
        ) -> None:
            # The auth hook adds the X-Custos headers the generator left out: such a case is valid, not negative.
            case.validate_response(response, checks=_CHECKS[:-1])  # all but negative_data_rejection

    Machine.run(
        settings=settings(
            max_examples=_STATEFUL_EXAMPLES,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
        )
    )
    assert statuses and 500 not in statuses
    print(f"schemathesis stateful: {len(statuses)} requests, statuses {sorted(set(statuses))}")
