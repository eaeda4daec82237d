"""The job kinds a runner can play: how a parameter document becomes a roster and one role per party.

A kind answers four questions for a job on chain: which parties run (the roster), what
each party's role is given its own local data, what the committing compute party commits
as contribution weights, and what every attester expects those weights to hash to.
Kinds with no utility table split the contribution pool equally (weights all 1, utility
table hash zero), so every attester can check the commitment without seeing the result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from compute.channel import Channel
from compute.errors import InvalidInput
from compute.fl.fedavg.client import client_role
from compute.fl.fedavg.params import FedAvgParams
from compute.fl.fedavg.protocol import PROTOCOL as FEDAVG_PROTOCOL
from compute.fl.fedavg.server import server_role
from compute.fl.metrics import auc
from compute.jobs import vertical
from compute.jobs.local_data import load_column, load_ids, load_table
from compute.jobs.workspace import SourceFile, Workspace
from compute.party import Address
from compute.psi import rsa
from compute.result import hash_result
from compute.session import PartyOutcome, Role, RoleOutput
from compute.stats.protocol import PROTOCOL as STATS_PROTOCOL
from compute.stats.protocol import StatsParams, party_role
from ledger.protocol import JobKind as ChainKind
from ledger.protocol import contribution_hash, kind_name

ZERO32 = b"\x00" * 32


@dataclass(frozen=True)
class Plan:
    """One job's roster, this party's role, and the source order the weights follow."""

    protocol: str
    roster: tuple[Address, ...]
    role: Role | None  # None: this party is not on the roster
    source_ids: tuple[int, ...]


class JobKind(Protocol):
    """What every runnable job kind provides."""

    protocol: str
    chain_kind: ChainKind  # the kind JobLedger records for jobs of this protocol

    def plan(
        self,
        doc: Mapping[str, Any],
        me: Address,
        owner_of: Mapping[int, Address],
        compute: Sequence[Address],
        workspace: Workspace,
    ) -> Plan: ...

    def weights(self, outcome: PartyOutcome, sources: int) -> tuple[list[int], bytes] | None: ...


def _equal(sources: int) -> tuple[list[int], bytes]:
    return [1] * sources, ZERO32


def _observer(ch: Channel) -> RoleOutput:
    """A compute party that only witnesses the run, to commit and attest what it saw."""
    return RoleOutput(None)


class VerticalKind:
    """PSI-aligned hetero-LR with Shapley weights (the flagship kind)."""

    protocol = vertical.PROTOCOL
    chain_kind = ChainKind.HETERO_LR

    def plan(
        self,
        doc: Mapping[str, Any],
        me: Address,
        owner_of: Mapping[int, Address],
        compute: Sequence[Address],
        workspace: Workspace,
    ) -> Plan:
        params = vertical.VerticalParams.from_json(dict(doc))
        guest, arbiter = owner_of[params.guest_source], compute[0]
        hosts = [owner_of[s] for s in params.host_sources]
        roster = tuple(dict.fromkeys([guest, *hosts, arbiter]))
        role: Role | None = None
        if me == guest:
            table = load_table(workspace.sources[params.guest_source], params.label_column)
            role = vertical.guest(table, hosts, arbiter, params)
        elif me in hosts:
            table = load_table(workspace.sources[params.host_sources[hosts.index(me)]], None)
            role = vertical.host(table, guest, arbiter, params)
        elif me == arbiter:
            role = vertical.arbiter(guest, hosts, params)
        return Plan(self.protocol, roster, role, params.source_ids)

    def weights(self, outcome: PartyOutcome, sources: int) -> tuple[list[int], bytes] | None:
        result = outcome.value.get("result") if isinstance(outcome.value, dict) else None
        if result is None or hash_result(result) != outcome.result_hash:
            return None  # this party cannot vouch for the contribution table
        contribution = result["contribution"]
        return [int(w) for w in contribution["weights"]], bytes.fromhex(contribution["utility_table_hash"][2:])


def _sources(doc: Mapping[str, Any], count: int | None = None) -> tuple[int, ...]:
    try:
        sources = tuple(int(s) for s in doc["sources"])
    except (KeyError, TypeError, ValueError):
        raise InvalidInput("the parameter document names no 'sources' list") from None
    if count is not None and len(sources) != count or len(set(sources)) != len(sources) or not sources:
        raise InvalidInput(f"the parameter document's sources {sources} do not fit {doc.get('protocol')}")
    return sources


class PsiKind:
    """RSA blind-signature PSI between two sources' owners; the first learns the intersection."""

    protocol = rsa.PROTOCOL
    chain_kind = ChainKind.PSI

    def plan(
        self,
        doc: Mapping[str, Any],
        me: Address,
        owner_of: Mapping[int, Address],
        compute: Sequence[Address],
        workspace: Workspace,
    ) -> Plan:
        receiver_source, holder_source = _sources(doc, 2)
        receiver, holder = owner_of[receiver_source], owner_of[holder_source]
        roster = tuple(dict.fromkeys([receiver, holder, compute[0]]))
        role: Role | None = None
        if me == receiver:
            role = rsa.receiver_role(load_ids(workspace.sources[receiver_source]), holder, True)
        elif me == holder:
            role = rsa.key_holder_role(load_ids(workspace.sources[holder_source]), receiver, True)
        elif me in roster:
            role = _observer
        return Plan(self.protocol, roster, role, (receiver_source, holder_source))

    def weights(self, outcome: PartyOutcome, sources: int) -> tuple[list[int], bytes] | None:
        return _equal(sources)


class StatsKind:
    """Secure statistics of one numeric column over several sources by additive sharing."""

    protocol = STATS_PROTOCOL
    chain_kind = ChainKind.SECURE_STATS

    def plan(
        self,
        doc: Mapping[str, Any],
        me: Address,
        owner_of: Mapping[int, Address],
        compute: Sequence[Address],
        workspace: Workspace,
    ) -> Plan:
        sources = _sources(doc)
        columns = {int(k): str(v) for k, v in dict(doc.get("columns", {})).items()}
        dp = doc.get("epsilon") is not None  # the DP parameters (issue 20): ε and the clip range
        params = StatsParams(
            tuple(doc.get("bins", ())),
            int(doc.get("fraction_bits", 16)),
            epsilon=float(doc["epsilon"]) if dp else None,
            clip=(float(doc["clip"][0]), float(doc["clip"][1])) if dp and doc.get("clip") else None,
        )
        holders = [owner_of[s] for s in sources]
        if len(set(holders)) != len(holders):
            raise InvalidInput("secure statistics need each source held by a different member")
        roster = tuple(dict.fromkeys([*holders, compute[0]]))
        role: Role | None = _observer if me in roster else None
        if me in holders:
            source = sources[holders.index(me)]
            column = columns.get(source, str(doc.get("column", "")))
            role = party_role(load_column(workspace.sources[source], column), params, holders, holders[0])
        return Plan(self.protocol, roster, role, sources)

    def weights(self, outcome: PartyOutcome, sources: int) -> tuple[list[int], bytes] | None:
        return _equal(sources)


class FedAvgKind:
    """Horizontal FedAvg over secure aggregation: the source owners train, the first compute party aggregates.

    The aggregator scores models on a labelled validation file of its own (`validation`,
    relative to its workspace); the Shapley weights come from coalition models rebuilt
    from the recorded round updates.
    """

    protocol = FEDAVG_PROTOCOL
    chain_kind = ChainKind.FEDAVG

    def plan(
        self,
        doc: Mapping[str, Any],
        me: Address,
        owner_of: Mapping[int, Address],
        compute: Sequence[Address],
        workspace: Workspace,
    ) -> Plan:
        sources = _sources(doc)
        label = str(doc.get("label_column", "y"))
        try:
            params = FedAvgParams(**dict(doc.get("fedavg", {})))
        except TypeError as exc:
            raise InvalidInput(f"malformed FedAvg parameters: {exc}") from None
        clients = [owner_of[s] for s in sources]
        server = compute[0]
        if len(set(clients)) != len(clients) or server in clients:
            raise InvalidInput("FedAvg needs each source held by a different member, and a separate aggregator")
        role: Role | None = None
        if me in clients:
            table = load_table(workspace.sources[sources[clients.index(me)]], label)
            assert table.y is not None  # load_table refuses a file without the label column asked for
            role = client_role(table.x, table.y, server, clients, params)
        elif me == server:
            validation = load_table(
                SourceFile(
                    -1,
                    workspace.folder / str(doc.get("validation", "validation.csv")),
                    str(doc.get("id_column", "id")),
                    b"",
                    label,
                ),
                label,
            )
            spec = params.build_model(validation.x.shape[1])
            labels = validation.y
            assert labels is not None  # as above: the validation file has the label column
            role = server_role(
                clients,
                params,
                validation.x.shape[1],
                lambda m: auc(labels, spec.predict(m, validation.x)),
                "auc",
                clients,
            )
        return Plan(self.protocol, (server, *clients), role, sources)

    def weights(self, outcome: PartyOutcome, sources: int) -> tuple[list[int], bytes] | None:
        value = outcome.value if isinstance(outcome.value, dict) else {}
        report = value.get("report")
        contribution = report.to_json() if report is not None else value.get("contribution")
        if not contribution:
            return None
        return [int(w) for w in contribution["weights"]], bytes.fromhex(contribution["utility_table_hash"][2:])


KINDS: dict[str, JobKind] = {kind.protocol: kind for kind in (VerticalKind(), PsiKind(), StatsKind(), FedAvgKind())}


def kind_of(doc: Mapping[str, Any], recorded: int) -> JobKind:
    """The kind named by a parameter document's `protocol`, if it is the kind the chain recorded for the job.

    InvalidInput for an unknown protocol, and for one of another kind: the sources consented
    to the recorded kind only, so a PSI job's document must not make its parties run hetero-LR.
    """
    kind = KINDS.get(str(doc.get("protocol")))
    if kind is None:
        raise InvalidInput(f"this runner cannot run {doc.get('protocol')!r} (it runs: {', '.join(KINDS)})")
    if kind.chain_kind != recorded:
        raise InvalidInput(
            f"the parameters ask for {kind.protocol} ({kind.chain_kind.name}), "
            f"but the job is a {kind_name(recorded)} job on chain"
        )
    return kind


def expected_contribution(kind: JobKind, outcome: PartyOutcome, sources: int) -> bytes | None:
    """The contribution hash this party expects on chain, or None if it cannot know it."""
    weights = kind.weights(outcome, sources)
    return None if weights is None else contribution_hash(*weights)
