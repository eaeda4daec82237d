"""One party's view of one job's messaging: seal, send, receive, check, order, record.

Receiving checks, in order: the envelope parses; it is for this job and this party; its
sender is on the roster; the sender's chain key signed it; its sequence number is not one
already consumed. A message failing any of these could come from anyone on the network (an
outsider, a replay of a captured envelope, a tampered copy), so it is dropped and logged
(`Channel.rejected`), never turned into an abort and never blamed on the sender it names: a
run that then misses the real message ends in a timeout. An authentic message ahead of its
sequence waits until the gap fills. Only authentic messages can fail the run: one that does
not decrypt under the certified transport keys (`DecryptionFailed`), or names a step the
protocol is not at (`OutOfOrderMessage`), both naming their signer. Consumed messages (sent
and received) are recorded as transcript entries.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from eth_utils import keccak

from compute.envelope import KIND_ABORT, KIND_DATA, Envelope, Header, open_payload, parse, seal, verify_signature
from compute.errors import (
    ForeignMessage,
    MalformedMessage,
    MessageRejected,
    OutOfOrderMessage,
    PartyTimeout,
    PeerAborted,
    ReplayedMessage,
    SignatureInvalid,
)
from compute.party import Address, Party, PartyIdentity
from compute.rounds import RoundListener, RoundReport, ignore_round
from compute.transcript import TranscriptEntry
from compute.transport.base import Mailbox, Transport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """The job a channel serves: its id, protocol name, roster and default step timeout (s)."""

    job_id: int
    protocol: str
    roster: Mapping[Address, PartyIdentity]
    timeout: float = 30.0
    record_view: bool = False  # keep every payload received (privacy tests: a party's full view)


class Channel:
    """Authenticated, encrypted, ordered messaging for `me` within `job`."""

    def __init__(self, me: Party, job: Job, transport: Transport, mailbox: Mailbox) -> None:
        self.me, self.job, self._transport, self._mailbox = me, job, transport, mailbox
        self._next_out: dict[Address, int] = {}
        self._next_in: dict[Address, int] = {}
        self._pending: dict[Address, deque[tuple[Header, bytes, bytes, int]]] = {}
        self.sent: list[TranscriptEntry] = []
        self.received: list[TranscriptEntry] = []
        self.view: list[tuple[Address, str, bytes]] = []
        self._expired: set[str] = set()
        self._dormant: list[tuple[int, Header, bytes, bytes]] = []  # arrived while their step was closed
        self._arrivals = 0
        self._early: dict[Address, dict[int, bytes]] = {}  # authentic messages ahead of their sequence
        self.rejected: deque[MessageRejected] = deque(maxlen=1024)  # dropped: unauthenticated or replayed
        self.step = "start"  # the step this party last sent or awaited: named if its role fails
        self.on_round: RoundListener = ignore_round  # set by whoever runs the role, to follow its rounds

    @property
    def address(self) -> Address:
        """This party's address."""
        return self.me.address

    def peers(self) -> list[Address]:
        """Every other party on the roster, in roster order."""
        return [a for a in self.job.roster if a != self.address]

    def report_round(self, done: int, total: int, since: float, **metrics: float) -> None:
        """Tell `on_round` that round `done` of at most `total` finished; `since`: the first round's
        `time.perf_counter()` start; `metrics`: this party's own figures (loss, auc, ...)."""
        self.on_round(RoundReport(done, total, metrics, time.perf_counter() - since))

    def send(self, to: Address, step: str, payload: bytes, kind: int = KIND_DATA) -> None:
        """Seal `payload` for `to` at `step` and deliver it (recorded in the transcript if data)."""
        if kind == KIND_DATA:
            self.step = step
        seq = self._next_out.get(to, 0)
        self._next_out[to] = seq + 1
        header = Header(self.job.job_id, self.address, to, seq, step, kind)
        envelope = seal(self.me, self.job.roster[to], header, payload)
        if kind == KIND_DATA:
            self.sent.append(TranscriptEntry(self.address, to, seq, step, keccak(envelope)))
        self._transport.deliver(to, envelope)

    def recv(self, sender: Address, step: str, timeout: float | None = None) -> bytes:
        """The next message from `sender`, which must be at `step`; PartyTimeout if none arrives in time."""
        return self.recv_one_of(sender, (step,), timeout)[1]

    def recv_one_of(self, sender: Address, steps: tuple[str, ...], timeout: float | None = None) -> tuple[str, bytes]:
        """The next message from `sender`, which may be at any of `steps` (a reply or a notice instead of it)."""
        self.step = steps[0]
        deadline = time.monotonic() + (self.job.timeout if timeout is None else timeout)
        while not self._pending.get(sender):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                waited = self.job.timeout if timeout is None else timeout
                raise PartyTimeout(sender, steps[0], f"no message within {waited:.1f}s{self._dropped_note(sender)}")
            self._pump(remaining, sender, steps[0])
        step = self._pending[sender][0][0].step
        return (step, self._take(sender, step)) if step in steps else (step, self._take(sender, steps[0]))

    def collect(self, senders: Iterable[Address], step: str, timeout: float | None = None) -> dict[Address, bytes]:
        """Messages at `step` from whichever of `senders` answer before the deadline (the rest: silent).

        A sender whose next message is at another step has skipped this one: it counts as silent.
        """
        self.step = step
        waiting = set(senders)
        deadline = time.monotonic() + (self.job.timeout if timeout is None else timeout)
        got: dict[Address, bytes] = {}
        while True:
            for sender in [s for s in waiting if self._pending.get(s)]:
                if self._pending[sender][0][0].step == step:
                    got[sender] = self._take(sender, step)
                # else: the sender has moved past this step without answering it; for a stage that
                # tolerates silence that is a dropout, and its later message stays queued.
                waiting.discard(sender)
            remaining = deadline - time.monotonic()
            if not waiting or remaining <= 0:
                return got
            self._pump(remaining, "any of " + ", ".join(sorted(waiting)), step)

    def expire(self, *steps: str) -> None:
        """Close `steps`: messages at them, queued or still to come, are held back unread.

        A stage that stops waiting (a deadline, a dropout) calls this so that a straggler's
        message cannot block its sender's queue. Held messages return only on `reopen` of the
        same step names, so instances that must never see each other's stragglers need
        distinct step names (secagg's `AggregationParams.instance`).
        """
        self._expired.update(steps)
        for queue in self._pending.values():
            for item in [i for i in queue if i[0].step in self._expired]:
                queue.remove(item)
                self._dormant.append((item[3], item[0], item[1], item[2]))

    def reopen(self, *steps: str) -> None:
        """Accept messages at `steps` again (a new instance of a stage that reuses their names).

        Messages that arrived while the steps were closed come back, in arrival order: a fast
        peer may already have sent the next instance's first message.
        """
        self._expired.difference_update(steps)
        back = [d for d in self._dormant if d[1].step in steps]
        self._dormant = [d for d in self._dormant if d[1].step not in steps]
        for arrival, header, payload, message_hash in back:
            queue = self._pending.setdefault(header.sender, deque())
            queue.append((header, payload, message_hash, arrival))
            self._pending[header.sender] = deque(sorted(queue, key=lambda item: item[3]))

    def abort(self, culprit: str, step: str, reason: str) -> None:
        """Tell every peer the run is aborted (best effort: unreachable peers time out instead)."""
        notice = json.dumps({"party": culprit, "step": step, "reason": reason[:500]}).encode()
        for peer in self.peers():
            try:
                self.send(peer, "abort", notice, kind=KIND_ABORT)
            except Exception:  # noqa: BLE001 - a peer we cannot reach learns by timeout
                continue

    def _take(self, sender: Address, step: str) -> bytes:
        header, payload, message_hash, _ = self._pending[sender].popleft()
        if header.step != step:
            raise OutOfOrderMessage(sender, header.step, f"expected step {step!r}")
        if header.kind == KIND_DATA:
            self.received.append(TranscriptEntry(sender, self.address, header.seq, header.step, message_hash))
            if self.job.record_view:
                self.view.append((sender, header.step, payload))
        return payload

    def _dropped_note(self, sender: Address) -> str:
        forged = sum(1 for r in self.rejected if r.party == sender)
        return f" ({forged} messages naming it as sender were dropped: unauthenticated or replayed)" if forged else ""

    def _pump(self, timeout: float, awaiting: str, step: str) -> bool:
        raw = self._mailbox.get(timeout)
        if raw is None:
            return False
        try:
            accepted = self._accept(raw)
        except (MalformedMessage, ForeignMessage, SignatureInvalid, ReplayedMessage) as exc:
            # Anyone on the network can send these: drop, log, and keep waiting for the real message.
            self.rejected.append(exc)
            log.warning("%s dropped a message while awaiting %s at %r: %s", self.address, awaiting, step, exc)
            return True
        for header, payload, message_hash in accepted:
            self._arrivals += 1
            if header.step in self._expired:
                self._dormant.append((self._arrivals, header, payload, message_hash))
                continue
            self._pending.setdefault(header.sender, deque()).append((header, payload, message_hash, self._arrivals))
        return True

    def _accept(self, raw: bytes) -> list[tuple[Header, bytes, bytes]]:
        """The authentic messages `raw` makes consumable: none (it is early), it, or it and the early ones it frees."""
        envelope = parse(raw)
        h = envelope.header
        if h.job_id != self.job.job_id:
            raise ForeignMessage(h.sender, h.step, f"message for job {h.job_id}, not {self.job.job_id}")
        if h.receiver != self.address:
            raise ForeignMessage(h.sender, h.step, f"message for {h.receiver}, delivered to {self.address}")
        if h.sender not in self.job.roster:
            raise ForeignMessage(h.sender, h.step, "sender is not a party of this job")
        verify_signature(envelope)
        expected = self._next_in.get(h.sender, 0)
        early = self._early.setdefault(h.sender, {})
        if h.seq < expected or h.seq in early:
            raise ReplayedMessage(h.sender, h.step, f"sequence {h.seq} already received (next is {expected})")
        if h.seq > expected:
            early[h.seq] = raw  # signed by its sender: a network that reordered it, not an attack
            return []
        out = [self._open(envelope)]
        while self._next_in[h.sender] in early:
            out.append(self._open(parse(early.pop(self._next_in[h.sender]))))
        return out

    def _open(self, envelope: Envelope) -> tuple[Header, bytes, bytes]:
        h = envelope.header
        payload = open_payload(self.me, self.job.roster[h.sender], envelope)
        self._next_in[h.sender] = h.seq + 1
        if h.kind == KIND_ABORT:
            try:
                notice = json.loads(payload)
                raise PeerAborted(
                    str(notice["party"]), str(notice["step"]), f"reported by {h.sender}: {notice['reason']}"
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise MalformedMessage(h.sender, "abort", "abort notice does not parse") from exc
        return h, payload, envelope.message_hash
