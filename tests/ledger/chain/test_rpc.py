"""JSON-RPC over HTTP: standard error codes for bad input, and the node stays up."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from ledger.artifacts import load
from ledger.chain.node import Node
from ledger.chain.rpc import MAX_REQUEST_BYTES
from ledger.chain.server import ChainServer
from tests.ledger.chain.conftest import MEMBERS, OUTSIDER, ChainDir, signed
from tests.waiting import wait_for

BEACON = load("Beacon")


@pytest.fixture
def server(chain_dir: ChainDir) -> Iterator[ChainServer]:
    node = Node.open(chain_dir.path, chain_dir.validator)
    srv = ChainServer(node, port=0)
    srv.start()
    yield srv
    srv.stop()
    node.close()


def post(server: ChainServer, body: bytes | object) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(server.url, content=content, headers={"Content-Type": "application/json"}, timeout=10)


def call(method: str, params: list, id_: int = 1) -> dict:
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": params}


def assert_alive(server: ChainServer) -> None:
    assert post(server, call("eth_blockNumber", [])).json()["result"].startswith("0x")


def test_malformed_json_is_a_parse_error(server: ChainServer) -> None:
    reply = post(server, b'{"jsonrpc": "2.0", "method": ').json()
    assert reply["error"]["code"] == -32700 and reply["id"] is None
    assert_alive(server)


@pytest.mark.parametrize("request_body", [42, {"id": 1, "method": "eth_chainId"}, {"jsonrpc": "2.0", "id": 1}, []])
def test_invalid_request_objects_are_invalid_requests(server: ChainServer, request_body: object) -> None:
    assert post(server, request_body).json()["error"]["code"] == -32600
    assert_alive(server)


def test_unknown_method_is_method_not_found(server: ChainServer) -> None:
    reply = post(server, call("eth_mineEverything", [])).json()
    assert reply["error"]["code"] == -32601 and "eth_mineEverything" in reply["error"]["message"]


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("eth_getBalance", [12345, "latest"]),
        ("eth_getBalance", ["0x1234", "latest"]),
        ("eth_getBlockByNumber", ["0x0"]),
        ("eth_getBlockByNumber", ["0x0", "yes"]),
        ("eth_getTransactionReceipt", ["0xabc"]),
        ("eth_sendRawTransaction", ["not hex"]),
        ("eth_call", ["0x00", "latest"]),
        ("eth_getLogs", [{"topics": "0x00"}]),
    ],
)
def test_wrong_parameter_types_are_invalid_params(server: ChainServer, method: str, params: list) -> None:
    assert post(server, call(method, params)).json()["error"]["code"] == -32602
    assert_alive(server)


def test_oversized_request_is_refused_with_413(server: ChainServer) -> None:
    reply = post(server, b"[" + b" " * (MAX_REQUEST_BYTES + 1) + b"]")
    assert reply.status_code == 413 and reply.json()["error"]["code"] == -32600
    assert_alive(server)


def test_non_member_transaction_gets_the_permission_error(server: ChainServer) -> None:
    raw = signed(OUTSIDER, 0, None, BEACON.bytecode)
    reply = post(server, call("eth_sendRawTransaction", ["0x" + raw.hex()])).json()
    assert reply["error"]["code"] == -32007 and "not a member" in reply["error"]["message"]


def test_replayed_raw_transaction_is_refused(server: ChainServer) -> None:
    raw = "0x" + signed(MEMBERS[0], 0, None, BEACON.bytecode).hex()
    assert "result" in post(server, call("eth_sendRawTransaction", [raw])).json()
    reply = post(server, call("eth_sendRawTransaction", [raw])).json()
    assert reply["error"]["code"] == -32000
    assert "already known" in reply["error"]["message"] or "nonce too low" in reply["error"]["message"]


def test_batch_answers_each_request_and_skips_notifications(server: ChainServer) -> None:
    batch = [
        call("eth_chainId", [], 1),
        {"jsonrpc": "2.0", "method": "eth_blockNumber", "params": []},
        call("no_such", [], 3),
        7,
    ]
    replies = post(server, batch).json()
    assert [r.get("id") for r in replies] == [1, 3, None]
    assert replies[0]["result"] == hex(727_027)
    assert [r["error"]["code"] for r in replies[1:]] == [-32601, -32600]


def test_revert_carries_the_custom_error_data(server: ChainServer) -> None:
    raw = "0x" + signed(MEMBERS[0], 0, None, BEACON.bytecode).hex()
    tx_hash = post(server, call("eth_sendRawTransaction", [raw])).json()["result"]
    receipt = wait_for(
        lambda: post(server, call("eth_getTransactionReceipt", [tx_hash])).json()["result"],
        30,
        "the Beacon deployment's receipt",
    )
    ping_zero = "0x773acdef" + "00" * 32
    reply = post(server, call("eth_call", [{"to": receipt["contractAddress"], "data": ping_zero}, "latest"])).json()
    assert reply["error"]["code"] == 3
    assert reply["error"]["data"] == "0x2a9eb121"  # BeaconZeroStep()
