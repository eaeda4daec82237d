"""The embedded node's JSON-RPC under a hostile client: malformed requests, batch abuse, unknown
methods, numbers past 256 bits, negative or padded quantities, boundless log ranges. Every one is a
JSON-RPC error with the standard code (or a bounded answer), and the node keeps serving."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ledger.chain.node import Node
from ledger.chain.server import ChainServer
from tests.ledger.chain.conftest import VALIDATOR, allowlist_spec

PARSE, INVALID_REQUEST, NO_METHOD, INVALID_PARAMS = -32700, -32600, -32601, -32602
HUGE = "0x" + "f" * 80  # 320 bits
ZERO_ADDRESS = "0x" + "00" * 20


@pytest.fixture(scope="module")
def node_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path: Path = tmp_path_factory.mktemp("rpc-node")
    Node.create(path, allowlist_spec(), VALIDATOR).close()
    node = Node.open(path, VALIDATOR)
    server = ChainServer(node, port=0)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
        node.close()


def _post(url: str, body: bytes | object) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(url, content=content, headers={"Content-Type": "application/json"}, timeout=30)


def _call(method: str, params: object) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}


@pytest.mark.parametrize(
    ("body", "code", "says"),
    [
        (b"\xff\xfe", PARSE, "parse error"),
        (b"[" * 100_000 + b"]" * 100_000, INVALID_REQUEST, "nested deeper"),
        (b"[]", INVALID_REQUEST, "empty batch"),
        ([_call("eth_blockNumber", [])] * 5000, INVALID_REQUEST, "batch too large"),
        ({"jsonrpc": "2.0", "id": {"a": [1] * 1000}, "method": "eth_chainId"}, INVALID_REQUEST, "id must be"),
        ({"jsonrpc": "2.0", "id": 1, "method": 5}, INVALID_REQUEST, "method name"),
        (_call("admin_addPeer", ["enode://x"]), NO_METHOD, "does not exist"),
        (_call("eth_blockNumber", "x"), INVALID_PARAMS, "params must be an array"),
        (_call("eth_getBlockByNumber", [HUGE, False]), INVALID_PARAMS, "more than a 256-bit value"),
        (_call("eth_getBlockByNumber", ["-0x1", False]), INVALID_PARAMS, "hex quantity"),
        (_call("eth_getBlockByNumber", ["0x01", False]), INVALID_PARAMS, "hex quantity"),
        (_call("eth_getBalance", [ZERO_ADDRESS, HUGE]), INVALID_PARAMS, "more than a 256-bit value"),
        (_call("eth_getStorageAt", [ZERO_ADDRESS, HUGE, "latest"]), INVALID_PARAMS, "slot"),
        (_call("eth_call", [{"to": ZERO_ADDRESS, "gas": "0x" + "f" * 70}, "latest"]), INVALID_PARAMS, "gas"),
        (_call("eth_call", [{"to": ZERO_ADDRESS, "value": "0x" + "f" * 70}, "latest"]), INVALID_PARAMS, "value"),
        (_call("eth_getLogs", [{"fromBlock": HUGE}]), INVALID_PARAMS, "fromBlock"),
        (_call("eth_getLogs", [{"topics": [[["0x00"]]]}]), INVALID_PARAMS, "topics[0]"),
        (_call("eth_getLogs", ["everything"]), INVALID_PARAMS, "expected an object"),
        (_call("eth_getFilterLogs", [HUGE]), INVALID_PARAMS, "filter not found"),
        (_call("eth_sendRawTransaction", ["0x" + "00" * 100]), INVALID_PARAMS, "invalid raw transaction"),
        (_call("eth_getTransactionByBlockNumberAndIndex", ["latest", HUGE]), INVALID_PARAMS, "index"),
        (_call("debug_traceTransaction", ["0x" + "00" * 32, {"tracer": "prestateTracer"}]), INVALID_PARAMS, "tracer"),
    ],
)
def test_a_hostile_rpc_client_gets_the_standard_error_and_the_node_keeps_serving(
    node_url: str, body: bytes | object, code: int, says: str
) -> None:
    reply = _post(node_url, body)
    assert reply.status_code == 200, reply.text[:300]
    error = reply.json()["error"]
    assert error["code"] == code and says in error["message"], error
    assert _post(node_url, _call("eth_blockNumber", [])).json()["result"].startswith("0x")


def test_a_log_query_over_every_possible_block_is_bounded_by_the_head(node_url: str) -> None:
    reply = _post(node_url, _call("eth_getLogs", [{"fromBlock": "0x0", "toBlock": "0x" + "f" * 16}])).json()
    assert reply["result"] == [], reply  # genesis only: no logs, answered at once, not a scan of 2**64 blocks


def test_a_batch_of_garbage_answers_each_entry_with_its_own_error(node_url: str) -> None:
    reply = _post(node_url, [1, [_call("eth_chainId", [])], _call("eth_chainId", [])]).json()
    assert [r.get("error", {}).get("code") for r in reply] == [INVALID_REQUEST, INVALID_REQUEST, None]
    assert reply[2]["result"].startswith("0x")
