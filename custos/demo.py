"""`custos demo`: the flagship case on a fresh embedded chain, every party its own process.

A bank (labels + credit features), an invoice-data firm and a card network hold the
synthetic credit split of `compute.jobs.synthetic_credit`; a compute node holds the
Paillier key; a regulator audits. The demo builds the consortium, registers the three
sources (commitments only), has the bank open a hetero-LR job, starts one `custos gateway up
--runner` process per organisation (its job runner inside; HTTP on loopback), follows each
gateway's live progress stream, waits for the job to be final, and prints what happened.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from compute.fl.hetero_lr.schedule import HeteroLRParams
from compute.jobs.commitment import commit_csv, new_secret
from compute.jobs.service import OpenRequest, deadline_after, open_job
from compute.jobs.synthetic_credit import generate
from compute.jobs.vertical import VerticalParams
from compute.jobs.workspace import SourceFile, Workspace
from custos.demo_budget import run_privacy_step
from custos.demo_cluster import sealed_by, start_cluster
from custos.demo_processes import (
    Placement,
    chain_node_url,
    child_env,
    gateway_url,
    launch_chain_node,
    launch_gateway,
    launch_runner,
    wait_rpc,
)
from custos.demo_progress import GatewayProgress
from ledger.bindings import JobStatus, SourceSpec
from ledger.chain.setup import init_chain
from ledger.keystore import DEV_PASSWORD, Keystore
from ledger.member import MemberLedger
from ledger.protocol import JobKind, kinds_mask
from ledger.units import TOKEN_SYMBOL, parse_amount

CONSORTIUM: dict[str, Any] = {
    "chainId": 7017,
    "challengeWindow": 3,
    "feeBps": 500,
    "organisations": [
        {"name": "bank", "roles": ["REQUESTER", "PROVIDER", "VALIDATOR"]},
        {"name": "invoice-firm", "roles": ["PROVIDER"]},
        {"name": "card-network", "roles": ["PROVIDER"]},
        {"name": "compute-node", "roles": ["COMPUTE"]},
        {"name": "regulator", "roles": ["AUDITOR"]},
    ],
}
PROVIDERS = {"bank": ("y", 40), "invoice-firm": (None, 25), "card-network": (None, 15)}  # label column, price
PARTIES = ("bank", "invoice-firm", "card-network", "compute-node")


@dataclass(frozen=True)
class DemoConfig:
    """Knobs of the demo run (defaults finish in well under two minutes on two cores)."""

    folder: Path = Path("custos-demo")
    businesses: int = 2000
    seed: int = 7
    key_bits: int = 2048
    epochs: int = 4
    budget: int = 1_000
    timeout: float = 300.0  # how long the demo waits for the job to be final
    deadline: int = 300  # the job's on-chain deadline, seconds after opening
    protocol_timeout: float = 60.0  # how long a party waits for a silent peer
    nodes: int = 1  # > 1: that many organisations each run a consortium node (etcd on loopback)
    privacy_step: bool = True  # after the hetero-LR job: a DP secure-statistics job and a refusal (demo_budget.py)


@dataclass(frozen=True)
class DemoOutcome:
    """What the demo leaves: the chain folder, the job id, its final status, the RPC URL it used."""

    chain: Path
    job_id: int
    status: JobStatus
    rpc: str


class Demo:
    """One demo run; `say` receives every line to print."""

    def __init__(self, config: DemoConfig, say: Callable[[str], None]) -> None:
        self.config, self.say = config, say
        self.folder = config.folder.resolve()
        self.chain = self.folder / "chain"
        self.processes: list[subprocess.Popen] = []
        self.runners: list[subprocess.Popen] = []
        self.rpc_of: dict[str, str] = {}
        self.rpc = ""
        self.gateways: dict[str, str] = {}  # organisation -> its gateway's URL
        self.gateway_processes: dict[str, subprocess.Popen] = {}
        self.keys: dict[str, bytes] = {}
        self.progress = GatewayProgress()

    def run(self) -> DemoOutcome:
        """Build and run; the chain node keeps running (for the report) until `stop`."""
        try:
            rpc = self.start_chain()
            members = self.members(rpc)
            sources = self.register_sources(rpc, members)
            job_id = self.open_job(members["bank"], sources)
            self.start_gateways(job_id)
            status = self.wait_final(members["regulator"], job_id)
            if self.config.privacy_step:
                run_privacy_step(self, members, sources)  # issue 20: a DP job spends budget, one more is refused
            if self.config.nodes > 1:
                self.say_seals(rpc)
            return DemoOutcome(self.chain, job_id, status, rpc)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Terminate every process this demo started."""
        self.progress.close()
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    def start_chain(self, host: str = "127.0.0.1") -> str:
        """A fresh embedded chain in its own `custos chain up` process, serving JSON-RPC on `host`."""
        if self.folder.exists():
            self.say(f"replacing the previous demo in {self.folder}")
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)
        if self.config.nodes > 1:
            return self.start_consortium()
        init = init_chain(self.chain, CONSORTIUM)
        log = self.folder / "node.log"
        node = launch_chain_node(self.chain, host, log)
        self.processes.append(node)
        rpc = self.rpc = chain_node_url(node, log)
        self.say(f"chain {init.chain_id} up at {rpc}, sealed by {', '.join(init.validators)}")
        return rpc

    def start_consortium(self) -> str:
        """Each of the first `nodes` organisations runs its own node; returns the bank's node."""
        cluster = start_cluster(self.folder, self.chain, CONSORTIUM, self.config.nodes, child_env(), self.say)
        self.processes.extend(cluster.processes)
        self.rpc_of = cluster.rpc_of
        for name, process in zip(cluster.validators, cluster.processes[1:], strict=True):
            wait_rpc(cluster.rpc_of[name], process, timeout=120)
            self.say(f"node of {name:<13} up at {cluster.rpc_of[name]}")
        self.rpc = cluster.rpc_of["bank"]
        return self.rpc

    def say_seals(self, rpc: str) -> None:
        """How many validators sealed the block that holds the job's end."""
        head = httpx.post(
            rpc, json={"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber", "params": ["latest", False]}
        ).json()["result"]
        seals, validators = sealed_by(rpc, head["hash"])
        self.say(f"final block {int(head['number'], 16)} sealed by {seals} of {validators} validators")

    def members(self, rpc: str) -> dict[str, MemberLedger]:
        keystore = Keystore(self.chain / "keystore")
        deployment = self.chain / "deployment.json"
        members = {}
        for org in CONSORTIUM["organisations"]:
            account = keystore.unlock(org["name"], DEV_PASSWORD)
            self.keys[org["name"]] = bytes(account.key)
            members[org["name"]] = MemberLedger.open(self.rpc_of.get(org["name"], rpc), deployment, account)
            self.say(f"member {org['name']:<13} {account.address}  {', '.join(org['roles']).lower()}")
        for name in PARTIES:
            Workspace.create(
                self.folder / "parties" / name, name, self.chain / "keystore", self.rpc_of.get(name, rpc), deployment
            )
        return members

    def register_sources(self, rpc: str, members: dict[str, MemberLedger]) -> dict[str, int]:
        split = generate(self.config.businesses, self.config.seed)
        tables = {"bank": split.bank, "invoice-firm": split.invoice, "card-network": split.card}
        sources = {}
        for name, (label, price) in PROVIDERS.items():
            workspace = Workspace.load(self.folder / "parties" / name)
            path = workspace.folder / "data.csv"
            path.write_text(tables[name].to_csv())
            secret = new_secret()
            commitment = commit_csv(path, "id", secret)
            registered = members[name].registry.register_source(
                SourceSpec(
                    commitment.schema_hash,
                    commitment.root,
                    commitment.row_count,
                    f"file://{name}/data.csv",
                    parse_amount(price),
                    kinds_mask((JobKind.PSI, JobKind.SECURE_STATS, JobKind.HETERO_LR)),
                )
            )
            workspace.add_source(SourceFile(registered.source_id, path, "id", secret, label))
            sources[name] = registered.source_id
            self.say(
                f"source {registered.source_id} by {name:<13} {commitment.row_count} rows, "
                f"commitment 0x{commitment.root.hex()[:16]}…, {price} {TOKEN_SYMBOL} per use"
            )
        return sources

    def open_job(self, bank: MemberLedger, sources: dict[str, int]) -> int:
        """The bank opens the flagship hetero-LR job on the three sources."""
        lr = HeteroLRParams(epochs=self.config.epochs, n_bits=self.config.key_bits)
        params = VerticalParams(sources["bank"], (sources["invoice-firm"], sources["card-network"]), lr=lr)
        job_id = self.open_with(bank, JobKind.HETERO_LR, params.to_json(), params.source_ids)
        self.say(
            f"job {job_id} opened by bank: hetero-LR on sources {list(params.source_ids)}, "
            f"budget {self.config.budget} {TOKEN_SYMBOL} escrowed, {self.config.key_bits}-bit Paillier, "
            f"at most {lr.epochs} iterations"
        )
        return job_id

    def open_with(
        self,
        bank: MemberLedger,
        kind: JobKind,
        document: dict,
        source_ids: tuple[int, ...],
        epsilons: list[int] | None = None,
        delta: int = 0,
    ) -> int:
        """The bank opens a job of `kind` through the jobs service; its parameter document stays in its workspace.
        With `epsilons` (micro-ε per source) and `delta` the job is DP and reserves them (custos/demo_budget.py)."""
        request = OpenRequest(
            kind,
            source_ids,
            (Keystore(self.chain / "keystore").address("compute-node"),),
            parse_amount(self.config.budget),
            deadline_after(bank, self.config.deadline),
            document=document,
            epsilons=None if epsilons is None else tuple(epsilons),
            delta=delta,
        )
        return open_job(bank, request, store=Workspace.load(self.folder / "parties" / "bank")).job_id

    def start_gateways(
        self, job_id: int | None, parties: tuple[str, ...] = PARTIES, network: Placement | None = None
    ) -> dict[str, subprocess.Popen]:
        """One `custos gateway up --runner` process per organisation, its progress on `job_id` followed.

        With `network`, each organisation runs where and at the address it says (e.g. its own network
        namespace); otherwise on loopback, each on a port it picks itself. Starting an organisation again
        (after its process died) replaces it.
        """
        started = {}
        for name in parties:
            rpc = self.rpc_of.get(name, network.rpc if network else self.rpc)  # its own node, if it runs one
            folder, timeout = self.folder / "parties" / name, self.config.protocol_timeout
            keystore, deployment = self.chain / "keystore", self.chain / "deployment.json"
            started[name] = launch_gateway(name, folder, keystore, deployment, rpc, timeout, network)
            self.processes.append(started[name])
            self.gateway_processes[name] = started[name]
        for name, process in started.items():
            self.gateways[name] = gateway_url(name, self.folder / "parties" / name, process, network)
            own_node = f", on its own node {self.rpc_of[name]}" if name in self.rpc_of else ""
            self.say(f"gateway of {name:<13} {self.gateways[name]}/explorer  (with its job runner{own_node})")
        if started:
            self.say(
                "  sign in to an explorer while the job runs: custos gateway explorer-login "
                f"--keystore {self.chain / 'keystore' / 'regulator.json'} --url {self.gateways[next(iter(started))]}"
            )
        if job_id is not None:
            self.follow(job_id, tuple(started))
        return started

    def follow(self, job_id: int, parties: tuple[str, ...] = PARTIES) -> None:
        """Follow the live progress of `job_id` on these organisations' gateways (`self.progress`)."""
        for name in parties:
            process = self.gateway_processes[name]
            self.progress.follow(name, self.gateways[name], self.keys[name], job_id, process)

    def start_runners(self, job_id: int, parties: tuple[str, ...] = PARTIES) -> dict[str, subprocess.Popen]:
        """One `custos runner up` process per party, following `job_id` (organisations without a gateway)."""
        started = {}
        for name in parties:
            started[name] = launch_runner(self.folder / "parties" / name, job_id, self.config.protocol_timeout)
            self.processes.append(started[name])
            self.runners.append(started[name])
        return started

    def wait_final(self, auditor: MemberLedger, job_id: int) -> JobStatus:
        """Relay progress until the job is final; its final status."""
        deadline = time.monotonic() + self.config.timeout
        runners = [p for p in self.runners if p.poll() is None]
        seen: set[str] = set()
        while time.monotonic() < deadline:
            self._relay_progress(runners, seen)
            self.progress.relay(self.say)
            status = auditor.jobs.job(job_id).status
            if status in (JobStatus.FINALIZED, JobStatus.REFUNDED, JobStatus.CANCELLED, JobStatus.ABORTED):
                for runner in runners:
                    try:
                        runner.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        runner.kill()
                self._relay_progress(runners, seen)
                self.progress.settle(2.0)  # the last steps the gateways stream
                self.progress.relay(self.say)
                return status
            time.sleep(0.2)
        raise RuntimeError(
            f"job {job_id} was not final after {self.config.timeout:.0f} s; "
            f"see {self.folder}/parties/*/gateway.log and runner.log"
        )

    def _relay_progress(self, runners: list[subprocess.Popen], seen: set[str]) -> None:
        for runner in runners:
            assert runner.stdout is not None
            os.set_blocking(runner.stdout.fileno(), False)
            for line in runner.stdout:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event["stage"] == "up" or line in seen:
                    continue
                seen.add(line)
                self.say(f"  [{event['party']}] {event['stage']}: {event['detail']}")
