"""Running protocol roles: one party's run (`run_role`) and all parties in threads (`run_in_process`).

A role is a function `role(channel) -> RoleOutput`. `run_role` wraps it: on success the
finishing parties swap the transcript entries they sent and received and the result hash
they hold (`finish`), check each other's lists against what they saw, and agree on one
transcript root; on failure (any exception, not only a ComputeError: an unexpected one becomes
`RoleFailed` naming this party and the step it was at) the party tells every peer who failed
at which step, so nobody waits for a dead run. The same `run_role` serves threads here and processes over HTTP.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from compute.channel import Channel, Job
from compute.envelope import KIND_TRANSCRIPT
from compute.errors import (
    ChannelError,
    ComputeError,
    MalformedMessage,
    PeerAborted,
    ProtocolAborted,
    ProtocolViolation,
    RoleFailed,
)
from compute.party import Address, Party
from compute.transcript import FailureLog, FailureRecord, Transcript, TranscriptEntry
from compute.transport.base import Mailbox, Transport
from compute.transport.inprocess import InProcessTransport

FINISH_STEP = "transcript"


@dataclass(frozen=True)
class RoleOutput:
    """What a role returns: its local output, the result hash it holds (if any), who finishes."""

    value: Any
    result_hash: bytes | None = None
    finishers: Sequence[Address] | None = None  # None: the whole roster
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PartyOutcome:
    """One party's completed run: its output, the agreed transcript and result hash."""

    address: Address
    value: Any
    result_hash: bytes | None
    transcript: Transcript
    metadata: Mapping[str, Any]
    view: tuple[tuple[Address, str, bytes], ...] = ()


Role = Callable[[Channel], RoleOutput]
TransportFactory = Callable[[Mapping[Address, Mailbox]], Transport]  # builds a transport over the parties' mailboxes


def finish(
    channel: Channel, finishers: Sequence[Address], result_hash: bytes | None
) -> tuple[Transcript, bytes | None]:
    """Swap transcript entries and result hashes with the other finishers; return the agreed pair."""
    others = [p for p in finishers if p != channel.address]
    report = json.dumps(
        {
            "sent": [e.to_json() for e in channel.sent],
            "received": [e.to_json() for e in channel.received],
            "result_hash": result_hash.hex() if result_hash else None,
        }
    ).encode()
    for peer in others:
        channel.send(peer, FINISH_STEP, report, kind=KIND_TRANSCRIPT)
    entries = set(channel.sent) | set(channel.received)
    hashes = {result_hash} - {None}
    for peer in others:
        try:
            # Wait longer than any protocol step: a peer still stuck upstream should be blamed by
            # whoever waits on the real culprit (whose abort notice then reaches us), not by us.
            theirs = json.loads(channel.recv(peer, FINISH_STEP, 2 * channel.job.timeout))
            sent = {TranscriptEntry.from_json(e) for e in theirs["sent"]}
            received = {TranscriptEntry.from_json(e) for e in theirs["received"]}
            peer_hash = bytes.fromhex(theirs["result_hash"]) if theirs["result_hash"] else None
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedMessage(peer, FINISH_STEP, "transcript report does not parse") from exc
        mine_from_peer = {e for e in channel.received if e.sender == peer}
        if not mine_from_peer <= sent:
            raise ProtocolViolation(peer, FINISH_STEP, "its transcript omits messages it sent to us")
        entries |= sent | received
        hashes |= {peer_hash} - {None}
    if len(hashes) > 1:
        raise ProtocolViolation(channel.address, FINISH_STEP, "finishing parties hold different result hashes")
    return Transcript.of(entries), next(iter(hashes), None)


def run_role(channel: Channel, role: Role) -> PartyOutcome:
    """Run one party's role to completion, or abort the run for everyone and re-raise."""
    try:
        output = role(channel)
        finishers = list(output.finishers) if output.finishers is not None else list(channel.job.roster)
        transcript, result_hash = finish(channel, finishers, output.result_hash)
    except PeerAborted:
        raise
    except (ChannelError, ProtocolViolation) as exc:
        channel.abort(exc.party, exc.step, str(exc))
        raise
    except ComputeError as exc:
        channel.abort(channel.address, "local", str(exc))
        raise
    except Exception as exc:  # noqa: BLE001 - whatever it is, the peers must hear of it rather than wait
        failed = RoleFailed(channel.address, channel.step, f"{type(exc).__name__}: {exc}")
        channel.abort(failed.party, failed.step, failed.detail)
        raise failed from exc
    return PartyOutcome(
        channel.address, output.value, result_hash, transcript, dict(output.metadata), tuple(channel.view)
    )


def failure_of(job: Job, error: ComputeError, reported_by: Address) -> FailureRecord:
    """The audit record of `error` as `reported_by` saw it."""
    party = getattr(error, "party", reported_by)
    step = getattr(error, "step", "local")
    detail = getattr(error, "detail", str(error))
    return FailureRecord(job.job_id, job.protocol, step, party, type(error).__name__, detail, reported_by)


def run_in_process(
    job: Job,
    parties: Sequence[Party],
    roles: Mapping[Address, Role],
    failure_log: FailureLog | None = None,
    transport: TransportFactory = InProcessTransport,
) -> dict[Address, PartyOutcome]:
    """Run every role in its own thread over an in-process transport; ProtocolAborted on any failure."""
    mailboxes = {p.address: Mailbox() for p in parties}
    network = transport(mailboxes)
    outcomes: dict[Address, PartyOutcome] = {}
    errors: list[tuple[Address, ComputeError]] = []
    lock = threading.Lock()

    def run(party: Party) -> None:
        channel = Channel(party, job, network, mailboxes[party.address])
        try:
            outcome = run_role(channel, roles[party.address])
        except ComputeError as exc:
            with lock:
                errors.append((party.address, exc))
            return
        with lock:
            outcomes[party.address] = outcome

    threads = [
        threading.Thread(target=run, args=(p,), name=f"party-{p.address[:10]}", daemon=True)
        for p in parties
        if p.address in roles
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise aborted(job, errors, failure_log)
    return outcomes


def aborted(
    job: Job, errors: Sequence[tuple[Address, ComputeError]], failure_log: FailureLog | None
) -> ProtocolAborted:
    """The ProtocolAborted for a failed run, its root cause first (a peer's own report over echoes)."""
    first_hand = [(who, e) for who, e in errors if not isinstance(e, PeerAborted)]
    reporter, cause = (first_hand or list(errors))[0]
    record = failure_of(job, cause, reporter)
    if failure_log is not None:
        failure_log.record(record)
    return ProtocolAborted(cause, record)
