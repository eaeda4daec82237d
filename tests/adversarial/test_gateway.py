"""The gateway's HTTP API and explorer under hostile callers: every refusal is a specific 4xx with
a code and a message, never a 500, and nobody acts outside their role.

One world per module (the `gateway` fixture: the bank's gateway over a real anvil consortium).
Adversaries: an outsider (no member), the card network (a member, but not this gateway's
operator), the regulator (AUDITOR only), and an unsigned caller.
"""

from __future__ import annotations

import httpx
import pytest

from tests.gateway.conftest import Gateway
from tests.gateway.scenario import SOURCE_SPEC

UINT256_MAX = str(2**256 - 1)
PAST_UINT256 = str(2**256)
SOURCE = SOURCE_SPEC  # a valid registration body, which each hostile row then breaks in one field


@pytest.mark.parametrize(
    ("who", "method", "path", "body", "status", "code"),
    [
        # Nobody acts outside their role: every state-changing route, as an outsider and as a member that is
        # not this gateway's operator.
        ("outsider", "POST", "/sources", SOURCE, 403, "auth.not_member"),
        ("outsider", "POST", "/jobs/0/consent", {"source_id": 0}, 403, "auth.not_member"),
        ("outsider", "PUT", "/sources/0/budget", {"epsilon": "1", "delta": "1e-6"}, 403, "auth.not_member"),
        ("outsider", "POST", "/payouts/withdraw", None, 403, "auth.not_member"),
        ("outsider", "POST", "/sessions", None, 403, "auth.not_member"),
        ("card", "POST", "/sources", SOURCE, 403, "auth.not_operator"),
        ("card", "POST", "/jobs/0/consent", {"source_id": 0}, 403, "auth.not_operator"),
        ("card", "POST", "/payouts/withdraw", None, 403, "auth.not_operator"),
        ("regulator", "POST", "/sources/0/versions", {"commitment": "0x" + "33" * 32, "row_count": 1}, 403, None),
        ("unsigned", "POST", "/sources", SOURCE, 401, "auth.missing"),
        ("unsigned", "GET", "/members/me", None, 401, "auth.missing"),
        # Numbers past uint256, negative ids and non-numbers are 422s naming the field, never an encoder crash.
        ("bank", "GET", f"/jobs/{PAST_UINT256}", None, 422, "request.invalid"),
        ("bank", "GET", "/jobs/-1", None, 422, "request.invalid"),
        ("bank", "GET", "/sources/0x10", None, 422, "request.invalid"),
        ("bank", "GET", f"/jobs/{UINT256_MAX}", None, 404, "job.not_found"),
        ("bank", "GET", f"/sources/{UINT256_MAX}/budget", None, 404, "source.not_found"),
        ("bank", "POST", "/sources", {**SOURCE, "price_per_use": 2**256}, 422, "request.invalid"),
        ("bank", "POST", "/sources", {**SOURCE, "row_count": -1}, 422, "request.invalid"),
        ("bank", "POST", "/sources", {**SOURCE, "commitment": "0x" + "zz" * 32}, 422, "request.invalid"),
        ("bank", "POST", "/sources", {**SOURCE, "metadata_uri": "x" * 513}, 422, "request.invalid"),
        ("bank", "POST", "/sources", [SOURCE], 422, "request.invalid"),
        ("bank", "PUT", "/sources/0/budget", {"epsilon": "1e999999", "delta": "1e-6"}, 403, "source.not_owner"),
        ("bank", "POST", "/jobs", {"kind": 99, "source_ids": [0], "compute_parties": [], "budget": 1}, 422, None),
        ("regulator", "GET", "/audit/jobs?since=-1", None, 422, "request.invalid"),
        ("regulator", "GET", f"/audit/jobs/{UINT256_MAX}/steps/0/proof", None, 404, "job.not_found"),
        ("regulator", "GET", "/audit/jobs/0/steps/10000/proof", None, 422, "request.invalid"),
        ("regulator", "GET", "/audit/members/0x" + "g" * 40, None, 422, "request.invalid"),
        # Path traversal in the one parameter a file name is built from: the job id.
        ("regulator", "GET", "/jobs/..%2F..%2Fdeployment.json/result", None, 404, "route.not_found"),
        ("regulator", "GET", "/jobs/..%252Fdeployment.json/result", None, 422, "request.invalid"),
        ("regulator", "GET", "/audit/jobs/0%2F..%2F1/bundle", None, 404, "route.not_found"),
    ],
)
def test_a_hostile_call_is_a_specific_refusal_never_a_500(
    gateway: Gateway, who: str, method: str, path: str, body: object, status: int, code: str | None
) -> None:
    client = httpx.Client(base_url=gateway.url, timeout=30) if who == "unsigned" else gateway.client(who)
    response = client.request(method, path, json=body) if body is not None else client.request(method, path)
    assert response.status_code == status, response.text
    answer = response.json()
    assert set(answer) == {"code", "message"} and answer["message"], answer
    if code is not None:
        assert answer["code"] == code, answer
    else:
        assert answer["code"].startswith(("auth.", "request.")), answer


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("since=2024-13-45", "since"),
        ("until=0000-00-00", "until"),
        ("since=2023-02-30", "since"),
        ("until=today", "until"),
    ],
)
def test_a_regulator_typing_an_impossible_date_into_the_explorer_gets_a_422_not_a_500(
    gateway: Gateway, query: str, named: str
) -> None:
    browser = _signed_in_browser(gateway)
    response = browser.get(f"/explorer?{query}")
    assert response.status_code == 422, response.text[:300]
    assert response.json()["code"] == "request.invalid"
    assert f"query.{named}" in response.json()["message"] and "not a calendar date" in response.json()["message"]
    fine = browser.get("/explorer?since=2020-02-29&until=")  # a leap day and the form's empty field
    assert fine.status_code == 200 and "job" in fine.text.lower()


def _signed_in_browser(gateway: Gateway) -> httpx.Client:
    login = gateway.client("regulator").post("/sessions").json()["login_path"]
    browser = httpx.Client(base_url=gateway.url, timeout=30)
    assert browser.get(login).status_code == 303
    return browser


@pytest.fixture(scope="module")
def banks_source(gateway: Gateway) -> int:
    """A source the bank (this gateway's operator) registers through its own gateway."""
    registered = gateway.client("bank").post("/sources", json=SOURCE)
    assert registered.status_code == 201, registered.text
    return int(registered.json()["source_id"])


@pytest.mark.parametrize(
    ("epsilon", "delta", "says"),
    [
        ("1_0", "1e-6", "is not a number"),  # Python's Decimal reads it as 10
        ("١", "1e-6", "is not a number"),  # an Arabic-Indic one
        ("NaN", "1e-6", "not a finite number"),
        ("-1", "1e-6", "negative"),
        ("1e-400", "1e-6", "more than the 6 decimals"),
        ("9" * 36, "1e-6", "too large"),
        ("1", "2", "above the largest"),
        ("1", "1e-999", "more than the 18 decimals"),
    ],
)
def test_an_owner_mistyping_its_privacy_budget_is_refused_not_misread(
    gateway: Gateway, banks_source: int, epsilon: str, delta: str, says: str
) -> None:
    response = gateway.client("bank").put(f"/sources/{banks_source}/budget", json={"epsilon": epsilon, "delta": delta})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "budget.invalid" and says in response.json()["message"], response.text
    unchanged = gateway.client("bank").get(f"/sources/{banks_source}/budget").json()
    assert unchanged["epsilon_total"] == "0", unchanged
