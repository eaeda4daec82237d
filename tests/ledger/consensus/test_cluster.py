"""Four organisations' nodes on one etcd: transactions sent to any node are ordered, sealed by a quorum and
final everywhere with the same head."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_abi import encode
from eth_account import Account
from eth_keys import keys
from eth_utils import keccak
from typer.testing import CliRunner

from custos.cli import app
from ledger.chain.errors import HistoryError
from ledger.chain.sealing import recover_sealer, sign_seal
from ledger.consensus.catchup import LocalSource, PeerSource, catch_up
from ledger.consensus.etcd import EtcdClient
from ledger.consensus.keyspace import Keyspace, parse_key
from ledger.consensus.messages import FinalRecord
from ledger.consensus.service import Service, open_replica, start_service, verify_history
from ledger.consensus.timing import Timing
from ledger.consensus.validators import quorum
from tests.ledger.consensus.byzantine import current_round, forged_block, transfer, write_proposal
from tests.ledger.consensus.consortium import (
    CHAIN_ID,
    ORG_NAMES,
    heads,
    make_consortium,
    receipt,
    rpc,
    send_transfer,
    wait_for,
)
from tests.ledger.consensus.etcd_cluster import EtcdCluster, free_port, loopback_cluster

# etcd keeps 8 heights: the tests below run past that, so they also run with pruned history.
FAST = Timing(round_timeout=3.0, lease_ttl=2, stand_down=2.0, poll=0.1, keep_heights=8)


@pytest.fixture(scope="module")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    cluster = loopback_cluster(tmp_path_factory.mktemp("etcd"), size=1)
    try:
        cluster.wait_healthy()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def cluster(etcd: EtcdCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[Service], list]]:
    # A fifth member, not a validator at genesis: governance makes it one (test_governance_adds_…).
    orgs = make_consortium(tmp_path_factory.mktemp("orgs"), ORG_NAMES + ("registry",), validators=4)
    services = []
    try:
        for org in orgs[:4]:
            services.append(
                start_service(org.directory, keys.PrivateKey(org.account.key), etcd.client_urls, port=0, timing=FAST)
            )
        for service in services:
            # A node that falls behind what etcd keeps takes the blocks from the others.
            service.engine.peers = [s.url for s in services if s is not service]
        yield services, orgs
    finally:
        for service in services:
            service.stop()


def test_transactions_sent_to_any_node_are_final_everywhere_with_a_quorum_of_seals(cluster: tuple) -> None:
    services, orgs = cluster
    urls = [s.url for s in services]
    sent = [send_transfer(urls[i % 4], orgs[i % 4].account, nonce=0) for i in range(4)]
    sent += [send_transfer(urls[(i + 1) % 4], orgs[i % 4].account, nonce=1) for i in range(4)]

    for tx_hash in sent:
        found = wait_for(f"receipt of {tx_hash} on every node", lambda h=tx_hash: all(receipt(u, h) for u in urls))
        assert found
    target = max(h for h, _ in heads(urls))

    def same_head() -> bool:
        seen = set(heads(urls))
        return len(seen) == 1 and next(iter(seen))[0] >= target

    wait_for("every node at the same head", same_head)
    (height, head), *_ = heads(urls)
    assert set(heads(urls)) == {(height, head)}
    for url in urls:
        status = rpc(url, "custos_consensus")
        assert status["head"] == head
        assert status["quorum"] == quorum(4) == 3
        assert status["headSeals"] >= 3
        assert status["evidence"] == [] and status["halted"] is None
        assert len(rpc(url, "custos_getBlockSeals", [head])) >= 3
        # custos_getBlockSeal (what custos audit asks) answers the quorum's seals as a list.
        listed = rpc(url, "custos_getBlockSeal", [head])
        sealers = {"0x" + recover_sealer(CHAIN_ID, bytes.fromhex(head[2:]), bytes.fromhex(x[2:])).hex() for x in listed}
        assert len(sealers) >= 3 and sealers <= {o.account.address.lower() for o in orgs}


@pytest.fixture(scope="module")
def etcd_client(etcd: EtcdCluster) -> Iterator[EtcdClient]:
    client = EtcdClient(etcd.client_urls)
    yield client
    client.close()


def _evidence(url: str, kind: str) -> list[dict]:
    return [e for e in rpc(url, "custos_consensus")["evidence"] if e["kind"] == kind]


def _settle(urls: list[str]) -> tuple[int, str]:
    def same() -> tuple[int, str] | None:
        seen = set(heads(urls))
        return next(iter(seen)) if len(seen) == 1 else None

    return wait_for("every node at the same head", same)


def test_byzantine_proposer_with_a_wrong_state_root_gets_no_seals_and_evidence_names_it(
    cluster: tuple, etcd_client: EtcdClient
) -> None:
    services, orgs = cluster
    urls = [s.url for s in services]
    cheat = orgs[3]
    _settle(urls)
    nonce = int(rpc(urls[0], "eth_getTransactionCount", [orgs[0].account.address, "pending"]), 16)
    height, block_hash, raw = forged_block(
        urls[0], bytes.fromhex(cheat.account.address[2:]), [transfer(orgs[0].account, nonce)], state_root=b"\x13" * 32
    )
    round_ = current_round(etcd_client, height)

    write_proposal(etcd_client, cheat.account, height, round_, block_hash, raw)

    ks = Keyspace(CHAIN_ID)
    wait_for("the forged round abandoned", lambda: etcd_client.get(ks.abandoned(height, round_)))
    found = wait_for("evidence naming the cheat", lambda: _evidence(urls[0], "invalid-proposal"))
    assert {e["offender"] for e in found} == {cheat.account.address.lower()}
    assert found[0]["height"] == height and found[0]["round"] == round_
    seals, _ = etcd_client.range_prefix(ks.root + b"seal/")
    assert not [kv for kv in seals if block_hash.hex().encode() in kv.key], "an honest validator sealed the forgery"
    # The round moves on: a real transaction is final at the same height, in a later round.
    tx_hash = send_transfer(urls[1], orgs[0].account, nonce)
    mined = wait_for("the honest transaction's receipt", lambda: receipt(urls[2], tx_hash))
    assert int(mined["blockNumber"], 16) == height and mined["blockHash"] != "0x" + block_hash.hex()
    # The final record follows the commit (its proposer writes it when idle: ledger.consensus.deferred).
    record = wait_for("the height's final record", lambda: etcd_client.get(ks.final(height)))
    final = FinalRecord.from_bytes(record.value)
    assert final.round > round_
    assert _evidence(urls[1], "equivocation") == []


def test_byzantine_proposer_with_a_non_members_transaction_gets_no_seals(
    cluster: tuple, etcd_client: EtcdClient
) -> None:
    services, orgs = cluster
    urls = [s.url for s in services]
    cheat, outsider = orgs[3], Account.from_key(b"\x77" * 32)
    _settle(urls)
    height, block_hash, raw = forged_block(urls[0], bytes.fromhex(cheat.account.address[2:]), [transfer(outsider, 0)])
    round_ = current_round(etcd_client, height)

    write_proposal(etcd_client, cheat.account, height, round_, block_hash, raw)

    found = wait_for(
        "evidence of the non-member's transaction",
        lambda: [e for e in _evidence(urls[2], "invalid-proposal") if e["height"] == height],
    )
    assert found[0]["offender"] == cheat.account.address.lower() and "not a member" in found[0]["detail"]
    wait_for("the round abandoned", lambda: etcd_client.get(Keyspace(CHAIN_ID).abandoned(height, round_)))
    assert heads(urls)[0][0] == height - 1


def test_equivocation_one_key_sealing_two_blocks_in_one_round_is_recorded(
    cluster: tuple, etcd_client: EtcdClient
) -> None:
    services, orgs = cluster
    urls = [s.url for s in services]
    cheat = orgs[2]
    height, _ = _settle(urls)
    key = keys.PrivateKey(cheat.account.key)
    ks, address = Keyspace(CHAIN_ID), bytes.fromhex(cheat.account.address[2:])
    round_ = current_round(etcd_client, height + 1)

    for block_hash in (b"\xaa" * 32, b"\xbb" * 32):
        etcd_client.put(ks.seal(address, height + 1, round_, block_hash), sign_seal(key, CHAIN_ID, block_hash))

    found = wait_for("equivocation evidence", lambda: _evidence(urls[0], "equivocation"))
    assert found[0]["offender"] == cheat.account.address.lower()
    assert (found[0]["height"], found[0]["round"]) == (height + 1, round_)


def test_one_validator_rewrites_block_2_and_fails(cluster: tuple, tmp_path: Path) -> None:
    services, orgs = cluster
    urls = [s.url for s in services]
    cheat = orgs[1]
    honest_height, _ = _settle(urls)
    assert honest_height >= 3
    # The cheat rebuilds the chain from the same genesis, keeps block 1, and replaces block 2 with its own.
    fork_dir = tmp_path / "fork"
    shutil.copytree(cheat.directory, fork_dir, ignore=shutil.ignore_patterns("chain.lmdb"))
    fork = open_replica(fork_dir, keys.PrivateKey(cheat.account.key))
    try:
        catch_up(fork, PeerSource(urls[0]), upto=1)
        fork.ingest(
            transfer(cheat.account, int(rpc(urls[0], "eth_getTransactionCount", [cheat.account.address, "0x1"]), 16))
        )
        block, stash = fork.build_proposal(bytes.fromhex(cheat.account.address[2:]))  # type: ignore[misc]  # the test double calls the build step directly
        fork.commit_final(block, [sign_seal(keys.PrivateKey(cheat.account.key), CHAIN_ID, block.hash)], stash)
        assert fork.head.hash != bytes.fromhex(rpc(urls[0], "eth_getBlockByNumber", ["0x2", False])["hash"][2:])

        with pytest.raises(HistoryError, match="block 2 has 1 valid seals, quorum 3"):
            verify_history(fork)
        newcomer_dir = tmp_path / "newcomer"
        shutil.copytree(orgs[0].directory, newcomer_dir, ignore=shutil.ignore_patterns("chain.lmdb"))
        newcomer = open_replica(newcomer_dir, keys.PrivateKey(orgs[0].account.key))
        try:
            with pytest.raises(HistoryError, match="block 2 from the peer has 1 valid seals"):
                catch_up(newcomer, LocalSource(fork))
            assert newcomer.head.block_number == 1
            # The same newcomer takes the honest history from an honest peer, checking every block.
            assert catch_up(newcomer, PeerSource(urls[2]), upto=honest_height) == honest_height
            assert (
                "0x" + newcomer.head.hash.hex()
                == rpc(urls[2], "eth_getBlockByNumber", [hex(honest_height), False])["hash"]
            )
        finally:
            newcomer.close()
    finally:
        fork.close()


def _call_tx(url: str, sender: Account, to: str, data: bytes) -> dict:
    nonce = int(rpc(url, "eth_getTransactionCount", [sender.address, "pending"]), 16)
    signed = sender.sign_transaction(
        {"chainId": CHAIN_ID, "nonce": nonce, "gas": 1_000_000, "gasPrice": 0, "to": to, "value": 0, "data": data}
    )
    tx_hash = rpc(url, "eth_sendRawTransaction", ["0x" + signed.raw_transaction.hex()])
    found = wait_for(f"receipt of {tx_hash}", lambda: receipt(url, tx_hash))
    assert found["status"] == "0x1", found
    return found


def _selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def _govern(urls: list[str], orgs: list, target: str, roles: int, why: str) -> int:
    """Propose, approve (3 of the members) and execute setRoles(target, roles); returns the height it applies from."""
    consortium = json.loads((orgs[0].directory / "deployment.json").read_text())["contracts"]["Consortium"]
    set_roles = _selector("setRoles(address,uint8)") + encode(["address", "uint8"], [target, roles])
    propose = _selector("propose(address,bytes,string)") + encode(
        ["address", "bytes", "string"], [consortium, set_roles, why]
    )
    proposal_id = int(
        rpc(
            urls[0],
            "eth_call",
            [{"from": orgs[0].account.address, "to": consortium, "data": "0x" + propose.hex()}, "latest"],
        ),
        16,
    )
    _call_tx(urls[0], orgs[0].account, consortium, propose)
    for org in orgs[1:3]:
        _call_tx(urls[1], org.account, consortium, _selector("approve(uint256)") + encode(["uint256"], [proposal_id]))
    executed = _call_tx(
        urls[2], orgs[0].account, consortium, _selector("execute(uint256)") + encode(["uint256"], [proposal_id])
    )
    return int(executed["blockNumber"], 16) + 1


def test_governance_adds_a_validator_after_genesis_and_its_node_seals(
    cluster: tuple, etcd: EtcdCluster, etcd_client: EtcdClient
) -> None:
    services, orgs = cluster
    urls = [s.url for s in services]
    registry = orgs[4]
    address = bytes.fromhex(registry.account.address[2:])
    node = start_service(
        registry.directory, keys.PrivateKey(registry.account.key), etcd.client_urls, port=0, timing=FAST, peers=urls
    )
    try:
        wait_for("the registry's node at the head", lambda: len(set(heads([*urls, node.url]))) == 1)
        before = rpc(urls[0], "custos_consensus")

        defined_height = _govern(urls, orgs, registry.account.address, 1 | 2 | 16, "registry validates")

        for url in [*urls, node.url]:
            wait_for(
                "the registry in every node's validator set",
                lambda u=url: registry.account.address in rpc(u, "custos_currentValidators"),
            )
        ks = Keyspace(CHAIN_ID)

        heights = []

        def sealed_by_registry() -> bool:
            mined = _call_tx(urls[0], orgs[1].account, orgs[1].account.address, b"")
            height, block_hash = int(mined["blockNumber"], 16), bytes.fromhex(mined["blockHash"][2:])
            heights.append(height)
            record = wait_for("the block's final record", lambda: etcd_client.get(ks.final(height)))
            final = FinalRecord.from_bytes(record.value)
            seal = etcd_client.get(ks.seal(address, height, final.round, block_hash))
            return seal is not None and recover_sealer(CHAIN_ID, block_hash, seal.value) == address

        # The quorum may form before the newcomer's seal lands; within a few blocks it seals one.
        wait_for("a final block sealed by the added validator", sealed_by_registry, timeout=90, every=0.0)
        assert min(heights) >= defined_height
        # Before the vote its node only followed: no seal of it below the height the vote applies from.
        own, _ = etcd_client.range_prefix(ks.root + b"seal/" + address.hex().encode() + b"/")
        assert own and min(parse_key(ks, kv.key).height or 0 for kv in own) >= defined_height  # type: ignore[union-attr]  # every key under the root parses
        # The head is now a block of the new set: its quorum is 4 of 5.
        after = rpc(node.url, "custos_consensus")
        assert len(after["validators"]) == len(before["validators"]) + 1 == 5
        assert (before["quorum"], after["quorum"]) == (3, 4) and after["headSeals"] >= 4
        wait_for("the registry's node at the head", lambda: len(set(heads([*urls, node.url]))) == 1)
    finally:
        node.stop()


def test_governance_removes_a_validator_and_its_seals_stop_counting(cluster: tuple) -> None:
    services, orgs = cluster
    urls = [s.url for s in services]
    removed = orgs[3]
    defined_height = _govern(urls, orgs, removed.account.address, 1 | 2, "insurer stops validating")

    for url in urls:
        wait_for(
            "the new validator set on every node",
            lambda u=url: removed.account.address not in rpc(u, "custos_currentValidators"),
        )
    later = _call_tx(urls[3], orgs[1].account, orgs[1].account.address, b"")
    assert int(later["blockNumber"], 16) >= defined_height
    wait_for("every node past the vote", lambda: min(h for h, _ in heads(urls)) >= defined_height)
    status = rpc(urls[0], "custos_consensus")
    # bank, hospital, bureau and the registry governance added (its node is stopped): 3 of 4.
    assert len(status["validators"]) == 4 and status["quorum"] == 3
    seals = rpc(urls[1], "custos_getBlockSeals", [later["blockHash"]])
    sealers = {
        "0x" + recover_sealer(CHAIN_ID, bytes.fromhex(later["blockHash"][2:]), bytes.fromhex(s[2:])).hex()
        for s in seals
    }
    assert sealers == {o.account.address.lower() for o in orgs[:3]}
    # The removed organisation's node still follows the chain as a non-validator.
    wait_for("the removed validator's node at the same head", lambda: len(set(heads(urls))) == 1)


def test_a_node_joining_after_etcd_lost_early_history_catches_up_from_a_peer(
    cluster: tuple, etcd: EtcdCluster, etcd_client: EtcdClient, tmp_path: Path
) -> None:
    services, orgs = cluster
    urls = [s.url for s in services]
    sender = orgs[0].account
    while _settle(urls)[0] < 3:  # history for etcd to lose, when this test runs alone
        nonce = int(rpc(urls[0], "eth_getTransactionCount", [sender.address, "pending"]), 16)
        tx_hash = send_transfer(urls[0], sender, nonce)
        wait_for(f"receipt of {tx_hash}", lambda h=tx_hash: receipt(urls[0], h))
    height, head = _settle(urls)
    ks = Keyspace(CHAIN_ID)
    # The operators pruned etcd: the final records of every block but the head are gone.
    for number in range(1, height):
        etcd_client.delete(ks.final(number))
    joining_dir = tmp_path / "joining"
    shutil.copytree(orgs[0].directory, joining_dir, ignore=shutil.ignore_patterns("chain.lmdb"))
    follower_key = keys.PrivateKey(b"\x55" * 32)

    joining = start_service(joining_dir, follower_key, etcd.client_urls, port=0, timing=FAST)
    try:
        # Without --peers it cannot reach the head, and says which blocks it lacks instead of waiting silently.
        stalled = wait_for("the joining node stalled", lambda: rpc(joining.url, "custos_consensus")["stalled"])
        assert f"blocks 1..{height - 1} are no longer in etcd, and no --peers" in stalled
        assert heads([joining.url])[0][0] == 0
        joining.engine.peers = [urls[2]]
        wait_for("the joining node at the head", lambda: heads([joining.url]) == [(height, head)])
        assert rpc(joining.url, "custos_consensus")["stalled"] is None
        assert verify_history(joining.node) == height
    finally:
        joining.stop()


def test_etcd_keeps_only_the_recent_rounds_while_every_node_keeps_its_whole_history(
    cluster: tuple, etcd_client: EtcdClient
) -> None:
    services, orgs = cluster
    urls = [s.url for s in services]
    keep = FAST.keep_heights
    sender = orgs[0].account
    while _settle(urls)[0] < 2 * keep:
        nonce = int(rpc(urls[0], "eth_getTransactionCount", [sender.address, "pending"]), 16)
        tx_hash = send_transfer(urls[0], sender, nonce)
        wait_for(f"receipt of {tx_hash}", lambda h=tx_hash: receipt(urls[0], h))
    height, _ = _settle(urls)

    ks = Keyspace(CHAIN_ID)
    # Pruning runs every keep/4 heights, each time dropping everything more than `keep` below.
    oldest_kept = height - keep - keep // 4
    # The shared keys, and the seals of every running node (a stopped one prunes its own when back).
    running = [o.account.address[2:].lower().encode() + b"/" for o in orgs[:4]]
    for prefix in [b"proposal/", b"final/", *(b"seal/" + r for r in running)]:
        kvs, _ = etcd_client.range_prefix(ks.root + prefix)
        heights = [parse_key(ks, kv.key).height or 0 for kv in kvs]  # type: ignore[union-attr]  # every key under the root parses
        assert heights and min(heights) >= oldest_kept, (prefix, min(heights), oldest_kept)
    evidence, _ = etcd_client.range_prefix(ks.root + b"evidence/")
    assert evidence, "evidence is never pruned"
    # Every node's stored history still verifies, and seals of old blocks are served from the store.
    for service in services:
        assert verify_history(service.node) == height
    assert (
        len(rpc(urls[3], "custos_getBlockSeals", [rpc(urls[3], "eth_getBlockByNumber", ["0x2", False])["hash"]])) >= 3
    )


def test_chain_status_shows_every_nodes_head_seals_etcd_and_the_evidence(cluster: tuple) -> None:
    services, orgs = cluster
    urls = [s.url for s in services]
    height, head = _settle(urls)

    result = CliRunner().invoke(app, ["chain", "status", "--rpc", ",".join(urls)])

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True and report["agree"] is True
    assert [(n["height"], n["head"]) for n in report["nodes"]] == [(height, head)] * 4
    assert all(n["headSeals"] >= n["quorum"] == 3 for n in report["nodes"])
    assert all(n["etcd"]["following"] for n in report["nodes"])
    kinds = {(e["kind"], e["offender"]) for e in report["evidence"]}
    assert ("invalid-proposal", orgs[3].account.address.lower()) in kinds
    assert ("equivocation", orgs[2].account.address.lower()) in kinds


def test_chain_status_reports_an_unreachable_node(cluster: tuple) -> None:
    services, _ = cluster
    dead = f"http://127.0.0.1:{free_port()}"

    result = CliRunner().invoke(app, ["chain", "status", "--rpc", f"{services[0].url},{dead}"])

    assert result.exit_code == 2
    report = json.loads(result.output)
    assert report["ok"] is False and "cannot reach" in report["nodes"][1]["problems"][0]
