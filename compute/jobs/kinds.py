"""The job kinds a runner can play: how a parameter document becomes a roster and one role per party.

A kind answers four questions for a job on chain: which parties run (the roster), what
each party's role is given its own local data, which contribution section (utility table,
rule inputs, weights) a party's run holds, and which part of its result may be shown
beyond its owner. From these `verified_bundle` builds a party's result bundle and checks
it: the committing compute party commits only a bundle that checks, and every attester
signs only a committed job whose hashes equal those of its own checked bundle.
Kinds with no utility table split the contribution pool equally (weights all 1, utility
table hash zero), so every attester can check the commitment without seeing the result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Protocol

from compute.bundle import result_bundle, verify_bundle
from compute.channel import Channel
from compute.contribution import UtilityTable
from compute.contribution.rule import REPLICA_TOLERANCE
from compute.errors import InvalidInput
from compute.fl.fedavg.client import client_role
from compute.fl.fedavg.params import FedAvgParams
from compute.fl.fedavg.protocol import PROTOCOL as FEDAVG_PROTOCOL
from compute.fl.fedavg.server import server_role
from compute.fl.hetero_lr.guest import table_form_problems
from compute.fl.metrics import auc
from compute.jobs import vertical
from compute.jobs.local_data import load_column, load_ids, load_table
from compute.jobs.snapshot import JobData
from compute.party import Address
from compute.psi import rsa
from compute.result import hash_result
from compute.session import PartyOutcome, Role, RoleOutput
from compute.stats.protocol import PROTOCOL as STATS_PROTOCOL
from compute.stats.protocol import StatsParams, party_role
from ledger.protocol import JobKind as ChainKind
from ledger.protocol import kind_name


@dataclass(frozen=True)
class Plan:
    """One job's roster, this party's role, and the source order the weights follow."""

    protocol: str
    roster: tuple[Address, ...]
    role: Role | None  # None: this party is not on the roster
    source_ids: tuple[int, ...]
    replica_tolerance: float | None = None  # the weight rule's tolerance; None: the pool is split equally


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
        data: JobData,
    ) -> Plan: ...

    def contribution(self, outcome: PartyOutcome) -> Mapping[str, Any] | None:
        """The contribution section this party's run holds (None if it holds none)."""
        ...

    def public_result(self, outcome: PartyOutcome) -> tuple[Any, bool]:
        """What of this party's output may leave it (numbers and hashes); True if the result hash is its hash."""
        ...

    def table_problems(self, table: UtilityTable) -> list[str]:
        """How a utility table departs from the form this kind measures it in ([] if it has it)."""
        ...


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
        data: JobData,
    ) -> Plan:
        params = vertical.VerticalParams.from_json(dict(doc))
        guest, arbiter = owner_of[params.guest_source], compute[0]
        hosts = [owner_of[s] for s in params.host_sources]
        roster = tuple(dict.fromkeys([guest, *hosts, arbiter]))
        role: Role | None = None
        if me == guest:
            table = load_table(data.source(params.guest_source), params.label_column)
            role = vertical.guest(table, hosts, arbiter, params)
        elif me in hosts:
            table = load_table(data.source(params.host_sources[hosts.index(me)]), None)
            role = vertical.host(table, guest, arbiter, params)
        elif me == arbiter:
            role = vertical.arbiter(guest, hosts, params)
        return Plan(self.protocol, roster, role, params.source_ids, REPLICA_TOLERANCE)

    def contribution(self, outcome: PartyOutcome) -> Mapping[str, Any] | None:
        result, hashed = self.public_result(outcome)
        section = result.get("contribution") if hashed and isinstance(result, dict) else None
        return section if isinstance(section, dict) else None

    def public_result(self, outcome: PartyOutcome) -> tuple[Any, bool]:
        # Every party holds the guest's shared result (metrics, model commitments, contribution),
        # sent at the end of the run; model weights, salts and scores stay with their owner.
        result = outcome.value.get("result") if isinstance(outcome.value, dict) else None
        if result is None or hash_result(result) != outcome.result_hash:
            return None, False
        return result, True

    def table_problems(self, table: UtilityTable) -> list[str]:
        return table_form_problems(table)


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
        data: JobData,
    ) -> Plan:
        receiver_source, holder_source = _sources(doc, 2)
        receiver, holder = owner_of[receiver_source], owner_of[holder_source]
        roster = tuple(dict.fromkeys([receiver, holder, compute[0]]))
        role: Role | None = None
        if me == receiver:
            role = rsa.receiver_role(load_ids(data.source(receiver_source)), holder, True)
        elif me == holder:
            role = rsa.key_holder_role(load_ids(data.source(holder_source)), receiver, True)
        elif me in roster:
            role = _observer
        return Plan(self.protocol, roster, role, (receiver_source, holder_source))

    def contribution(self, outcome: PartyOutcome) -> Mapping[str, Any] | None:
        return None

    def public_result(self, outcome: PartyOutcome) -> tuple[Any, bool]:
        return None, False  # the intersection is ids: it stays with the receiver

    def table_problems(self, table: UtilityTable) -> list[str]:
        return []


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
        data: JobData,
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
            role = party_role(load_column(data.source(source), column), params, holders, holders[0])
        return Plan(self.protocol, roster, role, sources)

    def contribution(self, outcome: PartyOutcome) -> Mapping[str, Any] | None:
        return None

    def public_result(self, outcome: PartyOutcome) -> tuple[Any, bool]:
        value = outcome.value
        if hasattr(value, "to_json") and outcome.result_hash is not None:
            return value.to_json(), True  # aggregates over every holder's column, which the receiver asked for
        return None, False

    def table_problems(self, table: UtilityTable) -> list[str]:
        return []


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
        data: JobData,
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
            table = load_table(data.source(sources[clients.index(me)]), label)
            assert table.y is not None  # load_table refuses a file without the label column asked for
            _check_dims(doc, params, table.x.shape[1])
            role = client_role(table.x, table.y, server, clients, params)
        elif me == server:
            own = data.own_file(str(doc.get("validation", "validation.csv")), str(doc.get("id_column", "id")))
            validation = load_table(own, label)
            _check_dims(doc, params, validation.x.shape[1])
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
        # Without contribution scores (a DP job's budget covers the training rounds only) the pool is split equally.
        tolerance = params.replica_tolerance if params.contribution else None
        return Plan(self.protocol, (server, *clients), role, sources, tolerance)

    def contribution(self, outcome: PartyOutcome) -> Mapping[str, Any] | None:
        # The aggregator measured the table; every client received it with the final model.
        value = outcome.value if isinstance(outcome.value, dict) else {}
        report = value.get("report")
        section = report.to_json() if report is not None else value.get("contribution")
        return section if isinstance(section, dict) and section else None

    def public_result(self, outcome: PartyOutcome) -> tuple[Any, bool]:
        value = outcome.value if isinstance(outcome.value, dict) else {}
        return value.get("summary"), False  # the aggregator's round hashes and metrics; the result hash is the model's

    def table_problems(self, table: UtilityTable) -> list[str]:
        return []


def _check_dims(doc: Mapping[str, Any], params: FedAvgParams, features: int) -> None:
    """A DP document's `dims` (what the accountant's ε was computed for) must be the size of the model
    this party's data trains: a smaller figure would understate the spend the budget records."""
    if params.dp is None or doc.get("dims") is None:
        return
    size = params.build_model(features).size
    if doc["dims"] != size:
        raise InvalidInput(f"the document accounts for {doc['dims']} model parameters, this party's model has {size}")


KINDS: dict[str, JobKind] = {kind.protocol: kind for kind in (VerticalKind(), PsiKind(), StatsKind(), FedAvgKind())}


class KindMismatch(InvalidInput):
    """A parameter document of another kind than the one the chain recorded; `reason` is the abort code."""

    def __init__(self, asked: ChainKind, recorded: int, detail: str) -> None:
        super().__init__(detail)
        named = f"KIND_MISMATCH {asked.name}!={kind_name(recorded)}"
        # The chain keeps 32 bytes of reason: kind numbers when the names do not fit.
        self.reason = named if len(named) <= 32 else f"KIND_MISMATCH {int(asked)}!={recorded}"


def kind_of(doc: Mapping[str, Any], recorded: int) -> JobKind:
    """The kind named by a parameter document's `protocol`, if it is the kind the chain recorded for the job.

    InvalidInput for an unknown protocol, and for one of another kind: the sources consented
    to the recorded kind only, so a PSI job's document must not make its parties run hetero-LR.
    """
    kind = KINDS.get(str(doc.get("protocol")))
    if kind is None:
        raise InvalidInput(f"this runner cannot run {doc.get('protocol')!r} (it runs: {', '.join(KINDS)})")
    if kind.chain_kind != recorded:
        raise KindMismatch(
            kind.chain_kind,
            recorded,
            f"the parameters ask for {kind.protocol} ({kind.chain_kind.name}), "
            f"but the job is a {kind_name(recorded)} job on chain",
        )
    return kind


def _rule_problems(section: Mapping[str, Any], owners: Sequence[str], tolerance: float) -> list[str]:
    """The rule's inputs the section names against the job's: its sources' owners in order, the kind's tolerance."""
    details, table = section.get("details"), section.get("utility_table")
    details = details if isinstance(details, dict) else {}
    table = table if isinstance(table, dict) else {}
    expected = [o.lower() for o in owners]
    problems = []
    if [str(s).lower() for s in table.get("sources", [])] != expected:
        problems.append("the utility table's sources are not the job's sources' owners in job order")
    if [str(o).lower() for o in details.get("owners", [])] != expected:
        problems.append("the owners the weights were split by are not the job's sources' owners")
    if details.get("replica_tolerance") != tolerance:
        problems.append(f"replica tolerance {details.get('replica_tolerance')} is not the job's {tolerance}")
    return problems


def verified_bundle(
    kind: JobKind, plan: Plan, job_id: int, outcome: PartyOutcome, owners: Sequence[str]
) -> tuple[dict[str, Any] | None, list[str]]:
    """This party's result bundle and what is wrong with it ([] when it can vouch for every hash in it).

    `owners` are the owners of the job's sources in job order (as the chain records them).
    The bundle's weights, table hash, contribution hash, transcript root and result hash are
    recomputed from the utility table and the leaf list it holds (`verify_bundle`), and the
    rule's inputs checked against the job's; a table kind without a table cannot be vouched for.
    """
    section = kind.contribution(outcome)
    result, hashed = kind.public_result(outcome)
    if outcome.result_hash is None:
        return None, ["this party's run has no result"]
    if plan.replica_tolerance is not None and section is None:
        return None, ["this party's run holds no contribution table to check the weights against"]
    bundle = result_bundle(job_id, kind.protocol, outcome, len(owners), section, result, hashed)
    problems = verify_bundle(bundle)
    if section is not None and plan.replica_tolerance is not None:
        problems += _rule_problems(section, owners, plan.replica_tolerance)
        with suppress(InvalidInput, KeyError, TypeError):  # verify_bundle has named an unparsable table
            problems += kind.table_problems(UtilityTable.from_json(section["utility_table"]))
    return bundle, problems
