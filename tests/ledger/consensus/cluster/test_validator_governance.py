"""Governance of the validator set on the shared cluster: an M-of-N vote adds a validator whose node then
seals, and removes one whose seals stop counting; each change applies from the block after the vote."""

from __future__ import annotations

from eth_keys import keys

from ledger.chain.sealing import recover_sealer
from ledger.consensus.etcd import EtcdClient
from ledger.consensus.keyspace import Keyspace, parse_key
from ledger.consensus.messages import FinalRecord
from ledger.consensus.service import start_service
from tests.ledger.consensus.cluster.driving import FAST, call_tx, govern
from tests.ledger.consensus.consortium import CHAIN_ID, heads, rpc, wait_for
from tests.ledger.consensus.etcd_cluster import EtcdCluster


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

        defined_height = govern(urls, orgs, registry.account.address, 1 | 2 | 16, "registry validates")

        for url in [*urls, node.url]:
            wait_for(
                "the registry in every node's validator set",
                lambda u=url: registry.account.address in rpc(u, "custos_currentValidators"),
            )
        ks = Keyspace(CHAIN_ID)

        heights = []

        def sealed_by_registry() -> bool:
            mined = call_tx(urls[0], orgs[1].account, orgs[1].account.address, b"")
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
    defined_height = govern(urls, orgs, removed.account.address, 1 | 2, "insurer stops validating")

    for url in urls:
        wait_for(
            "the new validator set on every node",
            lambda u=url: removed.account.address not in rpc(u, "custos_currentValidators"),
        )
    later = call_tx(urls[3], orgs[1].account, orgs[1].account.address, b"")
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
