"""The consensus loop of one node: order through etcd, execute everywhere, finalise by a quorum of seals.

Each step looks at height h = head + 1 in the node's mirror of etcd (docs/chain.md has the
protocol and its failure model):
1. `final/h` exists: check the named proposal's seals (a quorum of the validators at the
   parent, signatures recovered here) and commit the block with them; a final record
   without a quorum is refused and the node stops advancing.
2. Otherwise the current round r is the lowest round of h not abandoned. Its proposal is
   re-executed and checked; a validator seals it (compare: round not abandoned, height not
   final, no seal of ours yet), or records evidence against its author and abandons the round.
3. With a quorum of valid seals the round can no longer be abandoned, so the node commits the
   block at once; `final/h` (compare: round not abandoned, h not final) is written later, when
   the loop is idle (`ledger.consensus.deferred`); a proposal without quorum after
   `round_timeout` is abandoned (compare: h not final, and no more than quorum − 1 − f
   validators sealed it: see `ledger.consensus.rounds`).
4. With no proposal yet, the leader (the validator holding the `leader` key's lease)
   builds one from the pool once its batching rule says so (`ledger.consensus.timing.Gather`)
   and writes it with its own seal by compare-and-create, guarded by its leadership.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time

import rlp
from eth.abc import BlockAPI
from eth_keys.datatypes import PrivateKey

from ledger.chain.errors import HistoryError, TxRejected
from ledger.chain.permission import membership_version
from ledger.consensus.catchup import catch_up_from_peers
from ledger.consensus.deferred import DeferredWrites
from ledger.consensus.etcd import Compare, EtcdClient, EtcdError, delete_op
from ledger.consensus.evidence import EvidenceLog
from ledger.consensus.keyspace import Keyspace
from ledger.consensus.messages import FinalRecord, MessageError, Proposal
from ledger.consensus.mirror import Mirror
from ledger.consensus.replica import InvalidProposal, Replica, Stash
from ledger.consensus.rounds import Rounds, prune_ops
from ledger.consensus.timing import Gather, Timing
from ledger.consensus.validators import ValidatorSetError, quorum, validators_at

log = logging.getLogger(__name__)

# Every FORGET_EVERY blocks the mirror drops what it holds for heights more than FORGET_DEPTH
# below the head: this node has those blocks, and per-step work must not grow with the chain.
FORGET_EVERY = 64
FORGET_DEPTH = 128
# The etcd members' health (what `custos_consensus` shows) is probed this often, each with this timeout.
HEALTH_EVERY = 2.0
HEALTH_TIMEOUT = 1.0


class Engine:
    """Runs the protocol for one node in a background thread."""

    def __init__(
        self,
        node: Replica,
        client: EtcdClient,
        org_key: PrivateKey,
        timing: Timing = Timing(),
        peers: list[str] | None = None,
    ) -> None:
        self.node = node
        self.peers = list(peers or [])
        self.client = client
        self.keyspace = Keyspace(node.chain_id)
        self.rounds = Rounds(client, self.keyspace, node.chain_id)
        self.mirror = Mirror(client, self.keyspace)
        self.timing = timing
        self.org = org_key.public_key.to_canonical_address()
        # Any organisation's key: whether it proposes and seals is decided per height by the VALIDATOR
        # role at the parent block, so a validator that governance adds after genesis seals too.
        self.key = org_key
        self.evidence = EvidenceLog(client, self.keyspace, org_key)
        self.halted: str | None = None
        # Why the node cannot reach the final blocks ahead of it (none in etcd, none at any peer), if so.
        self.stalled: str | None = None
        self._stash: tuple[bytes, Stash] | None = None
        self._first_seen: dict[tuple[int, int], float] = {}
        self._judged: set[tuple[int, int]] = set()
        self._ingested: set[bytes] = set()
        self._lease = 0
        self._validator_cache: tuple[bytes, frozenset[bytes]] | None = None
        self.etcd_health: dict[str, bool] = {}
        self._stand_down_until = 0.0
        self._gather = Gather(timing)
        self.deferred = DeferredWrites(client, self.keyspace, self.rounds, timing)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        node.publish = self._publish
        node.on_admitted = self._wake

    # -- lifecycle --
    def start(self) -> None:
        """Follow etcd and run the protocol until `stop`."""
        self.mirror.start()
        threads = ((self._run, "custos-consensus"), (self._keep_lease, "custos-lease"), (self._probe, "custos-health"))
        for target, name in threads:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop the loop; the leader's lease is revoked so another validator takes over at once."""
        self._stopping.set()
        self.mirror.stop()
        for thread in self._threads:
            thread.join(timeout=10)
        with contextlib.suppress(EtcdError):
            self.deferred.flush(self.mirror.view, everything=True)
        if self._lease:
            with contextlib.suppress(EtcdError):
                self.client.revoke(self._lease)

    def _wake(self) -> None:
        with self.mirror.changed:
            self.mirror.changed.notify_all()

    def _publish(self, tx_hash: bytes, raw: bytes) -> None:
        try:
            self.client.create(self.keyspace.tx(self.org, tx_hash), raw)
        except EtcdError as exc:
            raise TxRejected(f"cannot order the transaction: {exc}") from None

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                progressed = self.step()
            except EtcdError as exc:
                log.info("consensus step: %s", exc)
                progressed = False
            except Exception:  # noqa: BLE001 — keep the node serving; the step is retried
                log.exception("consensus step failed")
                progressed = False
            if not progressed:
                with contextlib.suppress(EtcdError):
                    self.deferred.flush(self.mirror.view)
                self.mirror.wait(self.timing.gather_quiet if self._gather.size else self.timing.poll)

    def _keep_lease(self) -> None:
        """Refresh the proposer lease, on a thread of its own: nothing else may delay a renewal past the TTL.

        A renewal that no member answered keeps the lease and is tried again at the next tick: the
        lease lives in etcd until its TTL runs out (etcd extends every lease when its own Raft leader
        changes), so one lost round trip, e.g. during an etcd election, must not hand the lead over.
        Only etcd saying the lease expired ends it.
        """
        ttl = self.timing.lease_ttl
        failing = False
        while not self._stopping.wait(ttl / 4):
            lease = self._lease
            if not lease:
                continue
            try:
                # A member that does not answer within a quarter of the TTL is skipped for the next one.
                remaining = self.client.keepalive(lease, timeout=ttl / 4)
            except EtcdError as exc:
                if not failing:  # once per outage, not every tick
                    log.info("lease renewal: %s; retrying", exc)
                failing = True
                continue
            failing = False
            if remaining <= 0 and self._lease == lease:
                log.info("0x%s lost the lead: its lease expired", self.org.hex())
                self._lease = 0

    def _probe(self) -> None:
        """Every HEALTH_EVERY seconds, each etcd member's health (for `custos_consensus`)."""
        while not self._stopping.is_set():
            self.etcd_health = self.client.health(timeout=HEALTH_TIMEOUT)
            self._stopping.wait(HEALTH_EVERY)

    # -- one step --
    def step(self) -> bool:
        """Advance the protocol by one action; True if something happened (step again at once)."""
        if self.halted or not self.mirror.connected:
            return False
        view = self.mirror.view
        self._ingest()
        self.evidence.scan_seals(view, self.node.chain_id, self.node.head.block_number)
        height = self.node.head.block_number + 1
        final = view.final.get(height)
        if final is not None:
            return self._import_final(height, final)
        later = [h for h in list(view.final) if h > height]
        if later:
            return self._catch_up_from_peers(min(later) - 1)
        round_ = 0
        while (height, round_) in view.abandoned:
            round_ += 1
        raw = view.proposals.get((height, round_))
        if raw is None:
            self._campaign()
            return self._propose(height, round_)
        return self._work_on(height, round_, raw)

    def _ingest(self) -> None:
        txs = self.mirror.view.txs
        fresh = [(rev, raw, h) for h, (rev, _org, raw) in list(txs.items()) if h not in self._ingested]
        for _rev, raw, tx_hash in sorted(fresh):
            self._ingested.add(tx_hash)
            self.node.ingest(raw)
        if len(self._ingested) > 4 * len(txs) + 1024:
            self._ingested &= set(txs)

    # -- leadership --
    def _validators(self) -> frozenset[bytes]:
        """The validator set for the next block, read again only when a block changed the membership contract."""
        head = self.node.head
        version = membership_version(self.node, head.state_root)
        if self._validator_cache is None or self._validator_cache[0] != version:
            self._validator_cache = (version, validators_at(self.node, head))
        return self._validator_cache[1]

    def _is_validator(self) -> bool:
        return self.org in self._validators()

    def _campaign(self) -> None:
        if self.mirror.view.leader == self.org and not self._is_validator():
            # Governance removed our VALIDATOR role: hand the lead over at once.
            self.client.txn([Compare(self.keyspace.leader, self.org.hex().encode())], [delete_op(self.keyspace.leader)])
            self._lease = 0
            return
        if not self._is_validator() or self.mirror.view.leader is not None:
            return
        if time.monotonic() < self._stand_down_until:
            return
        lease = self.client.grant(self.timing.lease_ttl)
        if self.client.create(self.keyspace.leader, self.org.hex().encode(), lease=lease):
            self._lease = lease
            log.info("0x%s leads", self.org.hex())
        else:
            self.client.revoke(lease)

    def _propose(self, height: int, round_: int) -> bool:
        if self.mirror.view.leader != self.org or len(self.node.pool) == 0:
            return False
        pool = self.node.pool
        if not self._is_validator() or self._gather.gathering(len(pool), sum(e.tx.gas for e in pool.entries())):
            return False
        self._gather.built()
        built = self.node.build_proposal(self.org)
        if built is None:
            return False
        block, stash = built
        proposal = Proposal.make(self.key, self.node.chain_id, height, round_, block.hash, rlp.encode(block))
        if not self.rounds.propose(self.key, proposal):
            return False
        self._stash = (block.hash, stash)
        self._judged.add((height, round_))
        return True

    # -- validators' work on a round --
    def _work_on(self, height: int, round_: int, raw: bytes) -> bool:
        self._first_seen.setdefault((height, round_), time.monotonic())
        try:
            proposal = Proposal.from_bytes(raw)
            proposal.verify_author(self.node.chain_id)
        except MessageError as exc:
            # Unreadable or unsigned: no honest validator seals it, so no seal guard is needed.
            return self._abandon(height, round_, f"unusable proposal: {exc}", None, None)
        try:
            validators = self._validators()
        except ValidatorSetError as exc:
            self._halt(str(exc))
            return False
        if (height, round_) not in self._judged and self.org in validators:
            self._judged.add((height, round_))
            try:
                block = self._check(proposal, validators)
            except InvalidProposal as exc:
                self.evidence.record("invalid-proposal", proposal.proposer, height, round_, str(exc))
                return self._abandon(height, round_, str(exc), proposal.proposer, proposal.block_hash)
            del block
            self.rounds.seal(self.key, height, round_, proposal.block_hash)
            return True
        sealers = self._sealers(height, round_, proposal.block_hash)
        if len(sealers & validators) >= quorum(len(validators)):
            # A round with a quorum of seals can no longer be abandoned (see ledger.consensus.rounds):
            # commit it now. The final record serves nodes that catch up later and nothing waits for
            # it, so it is written when idle, off the path to the next block.
            committed = self._commit_round(height, round_, raw)
            if committed:
                self.deferred.finalise(height, round_, proposal.block_hash, proposal.proposer == self.org)
            return committed
        if time.monotonic() - self._first_seen[(height, round_)] > self.timing.round_timeout:
            reason = "no quorum before the round timeout"
            return self._abandon(height, round_, reason, proposal.proposer, proposal.block_hash)
        return False

    def _check(self, proposal: Proposal, validators: frozenset[bytes]) -> BlockAPI:
        block = self.node.decode_block(proposal.raw_block)
        if block.hash != proposal.block_hash:
            raise InvalidProposal("the proposal's block hash is not its block's")
        stash = self.node.validate(block, proposal.proposer, validators)
        self._stash = (block.hash, stash)
        return block

    def _sealers(self, height: int, round_: int, block_hash: bytes) -> set[bytes]:
        return self.mirror.view.sealers(self.node.chain_id, height, round_, block_hash)

    def _abandon(self, height: int, round_: int, reason: str, proposer: bytes | None, block_hash: bytes | None) -> bool:
        """Try to abandon the round; False (wait on) while too many validators have sealed it."""
        ks = self.keyspace
        value = json.dumps({"by": self.org.hex(), "reason": reason}).encode()
        sealed = self.mirror.view.holding(height, round_, block_hash) if block_hash is not None else set()
        validators = self._validators() if block_hash is not None else frozenset()
        if not self.rounds.abandon(height, round_, value, block_hash, validators, sealed):
            return (height, round_) in self.mirror.view.abandoned or height in self.mirror.view.final
        if proposer is not None:
            # The proposer of a failed round steps down; another validator takes the lead.
            self.client.txn([Compare(ks.leader, proposer.hex().encode())], [delete_op(ks.leader)])
            if proposer == self.org:
                self._lease = 0
                self._stand_down_until = time.monotonic() + self.timing.stand_down
        if self._stash is not None:
            self._stash = None
        return True

    # -- finality --
    def _import_final(self, height: int, raw_final: bytes) -> bool:
        view = self.mirror.view
        try:
            final = FinalRecord.from_bytes(raw_final)
        except MessageError as exc:
            self._halt(f"final record of block {height} is unusable: {exc}")
            return False
        raw = view.proposals.get((height, final.round))
        if raw is None:
            # Pruned from etcd (or not yet seen): the block must come, checked, from a peer.
            return self._catch_up_from_peers(height)
        return self._commit_round(height, final.round, raw, final.block_hash)

    def _commit_round(self, height: int, round_: int, raw: bytes, named: bytes | None = None) -> bool:
        """Commit round r's proposal with its seals if they are a quorum (else catch up from peers, or halt)."""
        view = self.mirror.view
        try:
            proposal = Proposal.from_bytes(raw)
            block = self.node.decode_block(proposal.raw_block)
        except (MessageError, InvalidProposal) as exc:
            self._halt(f"final block {height} is unusable: {exc}")
            return False
        if block.hash != (named or proposal.block_hash):
            self._halt(f"final record of block {height} names a block its proposal does not hold")
            return False
        validators = self._validators()
        sealers = self._sealers(height, round_, block.hash) & validators
        if len(sealers) < quorum(len(validators)):
            # Seals pruned from etcd, or a forged final record: a peer's block must carry the quorum itself.
            if self._catch_up_from_peers(height):
                return True
            self._halt(f"block {height} is recorded final with {len(sealers)} seals, quorum {quorum(len(validators))}")
            return False
        seals = [view.seals[(height, round_)][s][block.hash] for s in sorted(sealers)]
        stash = self._stash[1] if self._stash is not None and self._stash[0] == block.hash else None
        self._stash = None
        if stash is None:
            try:
                self.node.check_rules(block, proposal.proposer, validators)
            except InvalidProposal as exc:
                self._halt(f"final block {height} breaks a rule: {exc}")
                return False
        try:
            self.node.commit_final(block, seals, stash)
        except HistoryError as exc:
            self._halt(str(exc))
            return False
        self._forget_below(height)
        self.deferred.delete_txs(self.org, [tx.hash for tx in block.transactions], self.mirror.view)
        self._gather.final(len(block.transactions), len(self.node.pool))
        return True

    def _catch_up_from_peers(self, upto: int) -> bool:
        """etcd no longer holds blocks below `upto` + 1 (compacted or pruned): fetch them from peers, checked."""
        stalled = catch_up_from_peers(self.node, self.peers, upto)
        if stalled is not None and stalled != self.stalled:
            log.warning("catch-up stalled: %s", stalled)  # once per reason, not on every step
        self.stalled = stalled
        if stalled is None:
            self._stash = None
        return stalled is None

    def _halt(self, reason: str) -> None:
        log.error("consensus halted: %s", reason)
        self.halted = reason

    def _forget_below(self, height: int) -> None:
        for key in [k for k in self._first_seen if k[0] <= height]:
            del self._first_seen[key]
        self._judged = {k for k in self._judged if k[0] > height}
        if height % FORGET_EVERY == 0:
            self.mirror.forget_below(height - FORGET_DEPTH)
        keep = self.timing.keep_heights
        if height > keep and height % max(1, keep // 4) == 0:
            self.deferred.prune(prune_ops(self.keyspace, self.org, height - keep))
