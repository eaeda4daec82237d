"""A job's participants anchor their own records of it, whatever their roles (embedded chain, in-process).

The consortium: a bank (REQUESTER, PROVIDER, VALIDATOR), a clinic that only provides data
(PROVIDER), a card network outside the job (PROVIDER) and a bureau (COMPUTE, AUDITOR). The bank
opens a PSI job on the clinic's source with the bureau computing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_keys import keys
from eth_utils import keccak

from compute.jobs.job_audit import JobAudit
from compute.result import canonical_json
from ledger.bindings import SourceSpec
from ledger.bindings.audit_anchor import JOB_TAG_PREFIX, JobRecordsSink, job_records_tag
from ledger.chain.node import Node
from ledger.chain.provider import NodeProvider
from ledger.chain.setup import init_chain
from ledger.client import TransactionSender, connect
from ledger.client.revert import AuditAnchorNotJobParticipant, AuditAnchorReservedTag
from ledger.deployment import Deployment
from ledger.errors import AnchorError
from ledger.keystore import DEV_PASSWORD, Keystore
from ledger.member import MemberLedger
from ledger.merkle import leaf_hash
from ledger.protocol import JobKind

CONSORTIUM: dict[str, Any] = {
    "chainId": 4242,
    "organisations": [
        {"name": "bank", "roles": ["REQUESTER", "PROVIDER", "VALIDATOR"]},
        {"name": "clinic", "roles": ["PROVIDER"]},
        {"name": "card", "roles": ["PROVIDER"]},
        {"name": "bureau", "roles": ["COMPUTE", "AUDITOR"]},
    ],
}


@dataclass(frozen=True)
class World:
    """The members' handles on the in-process chain, and the PSI job the bank opened."""

    members: dict[str, MemberLedger]
    job_id: int
    folder: Path

    def audit(self, name: str) -> JobAudit:
        """Organisation `name`'s JobAudit in its own workspace folder."""
        return JobAudit(self.folder / name, self.members[name].anchor.job_sink, name)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("job-audit")
    init_chain(folder / "chain", CONSORTIUM)
    keystore = Keystore(folder / "chain" / "keystore")
    accounts = {o["name"]: keystore.unlock(o["name"], DEV_PASSWORD) for o in CONSORTIUM["organisations"]}
    node = Node.open(folder / "chain", keys.PrivateKey(accounts["bank"].key))
    try:
        w3 = connect(NodeProvider(node))
        deployment = Deployment.load(folder / "chain" / "deployment.json")
        members = {
            name: MemberLedger.bind(TransactionSender(w3, account), deployment) for name, account in accounts.items()
        }
        spec = SourceSpec(keccak(b"schema"), keccak(b"rows"), 10, "clinic://rows", 0, 1 << JobKind.PSI)
        source = members["clinic"].registry.register_source(spec).source_id
        bank = members["bank"]
        bank.token.approve(bank.settlement.address, 1)
        deadline = int(time.time()) + 3600
        job = bank.jobs.open_job(JobKind.PSI, [source], keccak(b"params"), [members["bureau"].address], 1, deadline)
        yield World(members, job.job_id, folder)
    finally:
        node.close()


def _verified_on_chain(world: World, path: Path, name: str) -> list[dict[str, Any]]:
    """The file's records, each proof checked by the contract itself, as the bureau (an auditor) reads it."""
    document = json.loads(path.read_text())
    assert document["anchored"] is True and "anchor_error" not in document, document
    auditor = world.members["bureau"].anchor
    for entry in document["records"]:
        proof = entry["proof"]
        leaf = bytes.fromhex(proof["leaf"][2:])
        assert leaf == leaf_hash(canonical_json(entry["record"]))
        assert auditor.verify_record(proof["batch_id"], [bytes.fromhex(h[2:]) for h in proof["proof"]], leaf)
        batch = auditor.batch(proof["batch_id"])
        assert (batch.anchored_by, batch.tag) == (world.members[name].address, job_records_tag(world.job_id))
    return [entry["record"] for entry in document["records"]]


def test_a_provider_only_organisation_anchors_its_records_of_the_job_and_an_auditor_finds_them(world: World) -> None:
    clinic = world.members["clinic"]
    audit = world.audit("clinic")
    audit.add(world.job_id, "data-access", source=0, version=1, rows=10)
    audit.add(world.job_id, "failure", reason="PROTOCOL: peer went away")
    path = audit.close_job(world.job_id)
    audit.close()

    assert path is not None
    records = _verified_on_chain(world, path, "clinic")
    assert [r["kind"] for r in records] == ["data-access", "failure"]
    batches = world.members["bureau"].anchor.batches_of(clinic.address, job_records_tag(world.job_id))
    assert len(batches) == 1  # one transaction for the job's records, found by (member, job)
    assert clinic.anchor._call("jobRecordsTag", world.job_id) == job_records_tag(world.job_id)
    assert clinic.anchor._call("JOB_TAG_PREFIX") == JOB_TAG_PREFIX


def test_a_member_outside_the_job_keeps_its_records_and_its_file_names_the_refusal(world: World) -> None:
    audit = world.audit("card")  # a provider, but none of its sources is in the job
    audit.add(world.job_id, "failure", reason="not mine")
    path = audit.close_job(world.job_id)
    audit.close()

    assert path is not None
    document = json.loads(path.read_text())
    assert document["anchored"] is False and "AuditAnchorNotJobParticipant" in document["anchor_error"]
    assert [e["record"]["reason"] for e in document["records"]] == ["not mine"]  # kept, without a proof
    assert document["records"][0]["proof"] is None


def test_records_left_by_a_stopped_runner_are_anchored_at_the_next_start_once_the_job_has_ended(world: World) -> None:
    first = world.audit("bank")
    first.add(world.job_id, "data-access", source=7)
    first.close()  # stopped before the job ended: nothing anchored, nothing written
    path = world.folder / "bank" / "audit" / f"{world.job_id}.json"

    again = world.audit("bank")
    again.anchor_pending(lambda job_id: False)  # the job still runs: its records wait
    assert not path.exists()
    again.anchor_pending(lambda job_id: job_id == world.job_id)
    again.close()

    assert [r["source"] for r in _verified_on_chain(world, path, "bank")] == [7]
    asked: list[int] = []

    def ended(job_id: int) -> bool:
        asked.append(job_id)
        return True

    world.audit("bank").anchor_pending(ended)
    assert asked == []  # anchored already: the chain is not asked again


def test_a_job_without_records_writes_no_file(world: World) -> None:
    audit = world.audit("bureau")
    assert audit.close_job(world.job_id) is None
    audit.close()


def test_a_sink_refuses_another_jobs_tag_and_a_tag_cannot_hold_an_id_past_128_bits(world: World) -> None:
    sink = world.members["clinic"].anchor.job_sink(world.job_id)
    assert isinstance(sink, JobRecordsSink)
    with pytest.raises(AnchorError, match="records tag"):
        sink.anchor(b"\x01" * 32, 1, job_records_tag(world.job_id + 1))
    with pytest.raises(ValueError, match="outside"):
        job_records_tag(2**128)


def test_reverts_surface_as_the_contracts_named_errors(world: World) -> None:
    card, bureau = world.members["card"], world.members["bureau"]
    with pytest.raises(AuditAnchorNotJobParticipant) as refused:
        card.anchor.anchor_job_records(world.job_id, b"\x01" * 32, 1)
    assert refused.value.arguments == {"jobId": world.job_id, "caller": card.address.lower()}
    tag = job_records_tag(world.job_id)
    with pytest.raises(AuditAnchorReservedTag):  # an auditor cannot file batches under a job's tag by `anchor`
        bureau.anchor.anchor(b"\x01" * 32, 1, tag)


def test_a_member_copying_anothers_root_under_the_same_job_tag_is_not_taken_for_its_batch(world: World) -> None:
    clinic, bank = world.members["clinic"], world.members["bank"]
    root, tag = keccak(b"the clinic's batch"), job_records_tag(world.job_id)
    copied = bank.anchor.anchor_job_records(world.job_id, root, 1)  # the bank sends the clinic's root first
    own = clinic.anchor.anchor_job_records(world.job_id, root, 1)

    found = clinic.anchor.job_sink(world.job_id).find(root, tag)  # what a recovering clinic asks
    assert found is not None and found.batch_id == own.batch_id != copied.batch_id
