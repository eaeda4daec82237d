"""JSON-RPC parity: access lists, proofs, call traces, txpool, `pending`, -32602 for bad params, revert reasons."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import rlp
from eth.rlp.accounts import Account as RLPAccount
from eth_utils import keccak
from trie import HexaryTrie
from web3 import Web3

from ledger.chain.genesis import Account as GenesisAccount
from ledger.chain.genesis import GenesisSpec
from ledger.chain.node import Node
from ledger.chain.rpc import RPCServer
from ledger.chain.server import ChainServer
from tests.ledger.chain.conftest import CHAIN_ID, MEMBERS, VALIDATOR, allowlist_spec, deploy_beacon, signed

CAST = Path(__file__).resolve().parents[3] / "contracts" / "node_modules" / ".bin" / "cast"
PING = bytes.fromhex("773acdef")
# Runtime that reverts with Error("nope"): CODECOPY the 100 bytes after this 12-byte prologue, REVERT them.
NOPE = bytes.fromhex("606460" + "0c" + "600039606460" + "00fd") + (
    bytes.fromhex("08c379a0") + (32).to_bytes(32, "big") + (4).to_bytes(32, "big") + b"nope".ljust(32, b"\0")
)
NOPE_AT = bytes.fromhex("000000000000000000000000000000000000a0a0")


def parity_spec() -> GenesisSpec:
    spec = allowlist_spec()
    alloc = {**spec.alloc, NOPE_AT: GenesisAccount(code=NOPE)}
    return GenesisSpec(
        chain_id=CHAIN_ID, validators=spec.validators, alloc=alloc, membership=spec.membership, timestamp=spec.timestamp
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ChainServer, str, bytes]]:
    node = Node.create(tmp_path, parity_spec(), VALIDATOR)
    beacon = deploy_beacon(node)
    ping = node.submit_raw(signed(MEMBERS[0], 1, beacon, PING + (5).to_bytes(32, "big")))
    server = ChainServer(node, port=0)
    server.start()
    yield server, beacon, ping
    server.stop()
    node.close()


def call(url: str, method: str, params: list) -> dict:
    return Web3(Web3.HTTPProvider(url)).provider.make_request(method, params)  # type: ignore[arg-type]  # web3 types the method as RPCEndpoint


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("eth_getBlockByNumber", ["0x" + "1" * 5000, False]),
        ("eth_getStorageAt", ["0x" + "00" * 20, "0x" + "11" * 35, "latest"]),
        ("eth_call", [{"to": "0x" + "00" * 20, "value": hex(2**256)}, "latest"]),
        ("eth_getBalance", ["0x" + "00" * 20, hex(2**256 + 1)]),
        ("eth_getLogs", [{"fromBlock": "0x64"}]),
    ],
)
def test_bad_parameters_are_invalid_params(served: tuple[ChainServer, str, bytes], method: str, params: list) -> None:
    assert call(served[0].url, method, params)["error"]["code"] == -32602


def test_revert_reasons_are_decoded_into_the_message(served: tuple[ChainServer, str, bytes]) -> None:
    server, beacon, _ = served
    text = call(server.url, "eth_call", [{"to": "0x" + NOPE_AT.hex()}, "latest"])["error"]
    assert text["code"] == 3 and text["message"] == "execution reverted: nope"
    custom = call(server.url, "eth_call", [{"to": beacon, "data": "0x" + (PING + bytes(32)).hex()}, "latest"])
    assert custom["error"]["message"] == "execution reverted: BeaconZeroStep()"


def test_cast_access_list_and_cast_run_work(served: tuple[ChainServer, str, bytes]) -> None:
    server, beacon, ping = served
    listed = subprocess.run(
        [str(CAST), "access-list", beacon, "ping(uint256)", "7", "--from", MEMBERS[0].address, "--rpc-url", server.url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert beacon in listed.stdout and "0x" + "00" * 32 in listed.stdout
    ran = subprocess.run(
        [str(CAST), "run", "0x" + ping.hex(), "--rpc-url", server.url], capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0 and "Pinged" in ran.stdout and "Transaction successfully executed" in ran.stdout


def test_get_proof_proves_a_balance_and_a_storage_value_against_the_state_root(
    served: tuple[ChainServer, str, bytes],
) -> None:
    server, beacon, _ = served
    w3 = Web3(Web3.HTTPProvider(server.url))
    proof = w3.eth.get_proof(Web3.to_checksum_address(beacon), [0], "latest")
    root = w3.eth.get_block("latest")["stateRoot"]
    account = rlp.decode(
        HexaryTrie.get_from_proof(
            root, keccak(bytes.fromhex(beacon[2:])), [rlp.decode(n) for n in proof["accountProof"]]
        ),
        sedes=RLPAccount,
    )
    assert account.storage_root == proof["storageHash"] and account.nonce == proof["nonce"]
    slot = proof["storageProof"][0]
    stored = HexaryTrie.get_from_proof(proof["storageHash"], keccak(bytes(32)), [rlp.decode(n) for n in slot["proof"]])
    assert rlp.decode(stored, sedes=rlp.sedes.big_endian_int) == int.from_bytes(slot["value"], "big") == 5


def test_call_tracer_shows_the_call_and_its_output(served: tuple[ChainServer, str, bytes]) -> None:
    server, beacon, ping = served
    trace = call(server.url, "debug_traceTransaction", ["0x" + ping.hex(), {"tracer": "callTracer"}])["result"]
    assert trace["type"] == "CALL" and trace["to"].lower() == beacon.lower()
    assert trace["from"] == MEMBERS[0].address and int(trace["output"], 16) == 5


def test_pending_means_the_pool_not_the_head(tmp_path: Path) -> None:
    node = Node.create(tmp_path, parity_spec(), VALIDATOR)
    try:
        node.instant = False  # nothing seals: what waits stays pending
        rpc = RPCServer(node)
        waiting = node.submit_raw(signed(MEMBERS[1], 0, MEMBERS[2].address, b"", gas=21_000))
        gapped = node.submit_raw(signed(MEMBERS[1], 2, MEMBERS[2].address, b"", gas=21_000))

        def ask(method: str, params: list) -> object:
            return rpc.handle({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})["result"]

        block = ask("eth_getBlockByNumber", ["pending", False])
        assert block["number"] == "0x1" and block["hash"] is None and block["transactions"] == ["0x" + waiting.hex()]
        assert ask("eth_getBlockByNumber", ["latest", False])["number"] == "0x0"
        assert ask("txpool_status", []) == {"pending": "0x1", "queued": "0x1"}
        assert set(ask("txpool_content", [])["queued"][MEMBERS[1].address]) == {"2"}
        assert ask("custos_txStatus", ["0x" + gapped.hex()]) == {"status": "queued"}
        assert ask("eth_getTransactionCount", [MEMBERS[1].address, "pending"]) == "0x1"
    finally:
        node.close()


ETHERS_SCRIPT = """
const { ethers } = require("ethers");
(async () => {
  const [url, address, txHash] = process.argv.slice(1);
  const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true });
  const pending = await provider.getBlock("pending");
  const proof = await provider.send("eth_getProof", [address, ["0x0"], "latest"]);
  const trace = await provider.send("debug_traceTransaction", [txHash, { tracer: "callTracer" }]);
  let reason = null;
  try { await provider.call({ to: "0x000000000000000000000000000000000000a0a0" }); }
  catch (err) { reason = err.reason; }
  console.log(JSON.stringify({ pendingNumber: pending.number, pendingHash: pending.hash,
    storage: proof.storageProof[0].value, traced: trace.type, reason }));
  provider.destroy();
})().catch((err) => { console.error(err); process.exit(1); });
"""


def test_ethers_reads_the_pending_block_proofs_traces_and_revert_reasons(
    served: tuple[ChainServer, str, bytes],
) -> None:
    server, beacon, ping = served
    modules = Path(__file__).resolve().parents[3] / "contracts" / "node_modules"
    done = subprocess.run(
        ["node", "-e", ETHERS_SCRIPT, server.url, beacon, "0x" + ping.hex()],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_PATH": str(modules)},
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"pendingNumber": 3, "pendingHash": None, "storage": "0x5", "traced": "CALL", "reason": "nope"}
