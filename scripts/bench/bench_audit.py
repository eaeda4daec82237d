"""The audit trail's speeds: indexing, anchoring, queries over a 1,000,000-event index, verification.

Indexing (bench_indexing): `EventIndexer.sync()` end to end over HTTP from the embedded node in
its own process, beside the SQLite write path alone on the same events (its ceiling), and the
index's size per 1M events. Anchoring (bench_anchor): records/s anchored with every proof,
beside one AuditAnchor transaction per record.

The index is generated with the contracts' real event ABIs and the indexer's own decoder
and linker: 2,000 sources, 50 members, ~66,700 jobs of 15 events each (open, consents,
ready, commit, four attestations, finalise, four credits, release), interleaved in waves.
Baseline for a query: the same answer by a full scan of the events table (no link index).
Verification runs against anvil: per indexed record, the receipt/log, decoding, canonical
block and seal checks; baseline: one eth_getTransactionReceipt round trip per record.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from eth_abi import encode
from eth_utils import keccak

sys.path.insert(0, os.path.dirname(__file__))
from bench_anchor import batched_rate, consortium_on_anvil, per_record_rate
from bench_indexing import indexing_rates, log_index_mb
from report import emit

from ledger.artifacts import load
from ledger.audit.auditor import Auditor
from ledger.audit.queries import AuditQueries
from ledger.bindings import AuditAnchor
from ledger.index.decode import event_specs, links_of
from ledger.index.store import EventStore, IndexedEvent, Position

TARGET_EVENTS = 1_000_000
SOURCES, MEMBERS, WAVE = 2_000, 50, 200
BUSY_JOBS = 1_000
# The terms JobOpened fixes (as JobLedger emits them).
TERMS = {"feeBps": 500, "challengeWindow": 3600, "attestationWindow": 86_400, "resolutionWindow": 1_209_600}
CONTRACTS = ("DataRegistry", "JobLedger", "Settlement")
SPECS = {s.name: (t, s) for c in CONTRACTS for t, s in event_specs(c, load(c).abi).items()}
ADDRESS = {c: "0x" + f"{i + 1:02x}" * 20 for i, c in enumerate(CONTRACTS)}
MEMBER = ["0x" + keccak(text=f"member-{i}")[:20].hex() for i in range(MEMBERS)]


def event(name: str, actor: str, block: int, log_index: int, when: int, args: dict) -> IndexedEvent:
    """An event built as the indexer stores it: real topics and data, decoded args, links."""
    topic0, spec = SPECS[name]
    topics = [topic0] + [encode([t], [args[n]]) for n, t, indexed in spec.inputs if indexed]
    data = encode([t for _, t, i in spec.inputs if not i], [args[n] for n, _, i in spec.inputs if not i])
    decoded = spec.decode(topics, data)
    block_hash = keccak(block.to_bytes(8, "big"))
    return IndexedEvent(
        block,
        log_index,
        0,
        keccak(block_hash + log_index.to_bytes(4, "big")),
        block_hash,
        when,
        ADDRESS[spec.contract],
        spec.contract,
        name,
        actor,
        decoded,
        tuple(topics),
        data,
        links_of(decoded, actor, spec),
    )


def job_stages(job: int, rng: random.Random) -> list[list[tuple[str, str, dict]]]:
    """The five blocks' worth of events of one job."""
    s1, s2 = rng.sample(range(1, SOURCES), 2)
    if job < BUSY_JOBS:  # source 0 is used by the first 1,000 jobs: a busy source's trail
        s1 = 0
    o1, o2 = MEMBER[s1 % MEMBERS], MEMBER[s2 % MEMBERS]
    requester, c1, c2 = rng.sample(MEMBER, 3)
    h = keccak(job.to_bytes(8, "big"))
    credits = [(o1, 4_000), (o2, 3_000), (c1, 1_500), (c2, 1_500)]
    return [
        [
            (
                "JobOpened",
                requester,
                {
                    "jobId": job,
                    "requester": requester,
                    "kind": job % 5,
                    "sourceIds": [s1, s2],
                    "versions": [1, 1],
                    "paramsHash": h,
                    "inputsHash": h,
                    "computeParties": [c1, c2],
                    "budget": 10_000,
                    "deadline": 2_000_000_000,
                    **TERMS,
                },
            ),
            ("ConsentGiven", requester, {"jobId": job, "sourceId": s2, "owner": o2, "automatic": True}),
        ],
        [
            ("ConsentGiven", o1, {"jobId": job, "sourceId": s1, "owner": o1, "automatic": False}),
            ("JobReady", o1, {"jobId": job}),
        ],
        [
            (
                "ResultCommitted",
                c1,
                {
                    "jobId": job,
                    "committer": c1,
                    "resultHash": h,
                    "transcriptRoot": h,
                    "contributionHash": h,
                    "weights": [4, 3],
                    "utilityTableHash": h,
                },
            )
        ],
        [("AttestationRecorded", c1, {"jobId": job, "signer": s, "submitter": c1}) for s in (o1, o2, c1, c2)],
        [("JobFinalized", c1, {"jobId": job, "escrow": 10_000})]
        + [("PaymentCredited", c1, {"jobId": job, "payee": p, "amount": a}) for p, a in credits]
        + [("EscrowReleased", c1, {"jobId": job, "amount": 10_000, "feeBps": 500})],
    ]


def build_index(path: Path) -> tuple[int, int]:
    """Write the synthetic history; returns (events, jobs)."""
    store, rng, block, when, total = EventStore(path), random.Random(7), 0, 1_700_000_000, 0
    h = keccak(b"schema")
    registrations = [
        event(
            "DataSourceRegistered",
            MEMBER[s % MEMBERS],
            1,
            s,
            when,
            {
                "sourceId": s,
                "owner": MEMBER[s % MEMBERS],
                "schemaHash": h,
                "commitment": h,
                "rowCount": 1000,
                "metadataURI": f"ipfs://{s}",
                "pricePerUse": 0,
                "allowedKinds": 31,
                "openToAllRequesters": True,
                "autoConsentKinds": 0,
            },
        )
        for s in range(SOURCES)
    ]
    store.append(registrations, [(1, keccak(b"1"), when)], Position(2, 1, keccak(b"1")))
    total, block, job = SOURCES, 1, 0
    while total < TARGET_EVENTS:
        wave = [job_stages(job + i, rng) for i in range(WAVE)]
        job += WAVE
        events = []
        for stage in range(5):
            block += 1
            when += 12
            index = 0
            for stages in wave:
                for name, actor, args in stages[stage]:
                    events.append(event(name, actor, block, index, when, args))
                    index += 1
        store.append(
            events,
            [(block, keccak(block.to_bytes(8, "big")), when)],
            Position(block + 1, block, keccak(block.to_bytes(8, "big"))),
        )
        total += len(events)
    store.close()
    return total, job


def latencies(query, keys: list, clock=time.perf_counter) -> list[float]:
    """Milliseconds per call of `query(key)` by `clock` (wall time; `time.process_time`: this process's CPU,
    which a loaded machine's wall time hides)."""
    out = []
    for key in keys:
        start = clock()
        query(key)
        out.append((clock() - start) * 1000)
    return out


def full_scan_job(store: EventStore, job: int) -> list:
    """Baseline: the job's events by scanning and parsing every row's arguments."""
    return store.conn.execute(
        "SELECT * FROM events WHERE json_extract(args, '$.jobId') = ? ORDER BY block_number, log_index", (job,)
    ).fetchall()


def query_benchmarks(index: Path) -> None:
    if not index.exists():  # argv[1] may name an index kept from an earlier run (it takes minutes to build)
        start = time.perf_counter()
        events, _ = build_index(index)
        print(f"# built {events} events in {time.perf_counter() - start:.0f}s", file=sys.stderr)
    queries = AuditQueries(index)
    jobs = int(queries.store.conn.execute("SELECT count(*) FROM events WHERE event = 'JobOpened'").fetchone()[0])
    rng = random.Random(11)
    job_keys, source_keys = rng.sample(range(jobs), 300), rng.sample(range(SOURCES), 100)
    queries.job_trail(job_keys[0])  # warm the page cache as a running service would be
    baseline = statistics.median(latencies(lambda j: full_scan_job(queries.store, j), job_keys[:3]))
    job_ms = latencies(queries.job_trail, job_keys)
    source_ms = latencies(queries.source_trail, source_keys)
    uses = statistics.mean(len(queries.source_trail(s).uses) for s in source_keys[:10])
    busy = latencies(queries.source_trail, [0] * 20)
    from_events = latencies(lambda s: queries.source_trail(s, derived=False), [0] * 20)
    busy_cpu = latencies(queries.source_trail, [0] * 20, time.process_time)
    from_events_cpu = latencies(lambda s: queries.source_trail(s, derived=False), [0] * 20, time.process_time)
    assert len(queries.source_trail(0).uses) == BUSY_JOBS
    emit("audit_job_trail_ms_p50_1M_events", statistics.median(job_ms), "ms", "full scan of events", baseline)
    emit(
        "audit_job_trail_ms_p95_1M_events",
        statistics.quantiles(job_ms, n=20)[-1],
        "ms",
        "full scan of events",
        baseline,
    )
    emit(
        f"audit_source_trail_ms_p50_1M_events_{uses:.0f}_jobs_per_source",
        statistics.median(source_ms),
        "ms",
        "full scan of events",
        baseline,
    )
    emit(
        f"audit_source_trail_ms_p50_1M_events_{BUSY_JOBS}_jobs_source",
        statistics.median(busy),
        "ms",
        "full scan of events",
        baseline,
    )
    emit(
        f"audit_source_trail_ms_p50_1M_events_{BUSY_JOBS}_jobs_source_vs_events_rows",
        statistics.median(busy),
        "ms",
        "each job's status and payout read from its events rows, not the job_facts table",
        statistics.median(from_events),
    )
    emit(
        f"audit_source_trail_cpu_ms_p50_1M_events_{BUSY_JOBS}_jobs_source_vs_events_rows",
        statistics.median(busy_cpu),
        "ms",
        "CPU time; each job's status and payout read from its events rows, not the job_facts table",
        statistics.median(from_events_cpu),
    )
    emit(
        "audit_source_trail_ms_p95_1M_events",
        statistics.quantiles(source_ms, n=20)[-1],
        "ms",
        "full scan of events",
        baseline,
    )


def verification_benchmark(folder: Path) -> None:
    with consortium_on_anvil() as (sender, deployment, _):
        anchor = AuditAnchor.at(sender, deployment)
        for _ in range(200):
            anchor.anchor_root(os.urandom(32), 1, b"\0" * 32)
        auditor = Auditor.open(sender.w3, deployment, folder / "verify.db")
        auditor.sync()
        trail = auditor.queries.member_trail(sender.address).events
        start = time.perf_counter()
        report = Auditor.open(sender.w3, deployment, folder / "verify.db").verifier.verify_member(sender.address)
        per_record = (time.perf_counter() - start) * 1000 / len(trail)
        assert report.ok, report.failures
        start = time.perf_counter()
        for e in trail:
            sender.w3.eth.get_transaction_receipt(e.tx_hash)
        floor = (time.perf_counter() - start) * 1000 / len(trail)
        emit("audit_verify_ms_per_record", per_record, "ms/record", "one receipt round trip per record", floor)


INDEXED_EVENTS = int(os.environ.get("BENCH_INDEXED_EVENTS", "100000"))


def indexing_benchmark(folder: Path) -> None:
    end_to_end, ceiling, mb = indexing_rates(folder, INDEXED_EVENTS)
    emit("audit_index_events_per_s_end_to_end_http", end_to_end, "events/s", "SQLite write path alone", ceiling)
    emit("audit_index_mb_per_1M_events_credits", mb, "MB", "none", 0.0)
    emit("chain_log_index_mb_per_1M_logs_credits", log_index_mb(folder / "chain", INDEXED_EVENTS), "MB", "none", 0.0)


def anchoring_benchmark(folder: Path) -> None:
    with consortium_on_anvil() as (sender, deployment, _):
        anchor = AuditAnchor.at(sender, deployment)
        baseline = per_record_rate(anchor)
        rate, _ = batched_rate(anchor, folder)
        emit("audit_anchor_records_per_s_with_proofs", rate, "records/s", "one AuditAnchor tx per record", baseline)


def index_size(index: Path) -> None:
    store = EventStore(index)
    events = store.count()
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the size of the index, not of its log
    store.close()
    size = index.stat().st_size + (
        index.with_name(index.name + "-wal").stat().st_size if index.with_name(index.name + "-wal").exists() else 0
    )
    emit("audit_index_mb_per_1M_events_job_mix", size / events * 1e6 / 2**20, "MB", "none", 0.0)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        indexing_benchmark(Path(tmp) / "indexing")
        anchoring_benchmark(Path(tmp))
        verification_benchmark(Path(tmp))
        index = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tmp) / "index.db"
        query_benchmarks(index)
        index_size(index)


if __name__ == "__main__":
    main()
