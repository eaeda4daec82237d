"""Gateway load: the verified job trail's requests per second and p99 latency on loopback.

A real gateway (`custos gateway up --rpc`, its own process, rate limits raised out of the way)
over anvil with the consortium deployed and one finished job (the gateway tests' scenario),
while a background thread mines a new block every second (the realistic case: the chain moves,
the job does not, so its cached verification must survive). A bounded Python load client
(threads with keep-alive connections) sends pre-signed audit queries, so the client's own
signing is not measured. Baseline, same server, client and background blocks, same run: the
unsigned `GET /domain`, i.e. what the signature check, the nonce write and the verified audit
query add on top of a bare FastAPI route. Goal: the trail at >= 50% of the baseline's req/s.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, str(ROOT))  # the gateway tests' scenario builds the finished job
from report import emit

REQUESTS = 2000
CONCURRENCY = 8


def load(url: str, requests: list[tuple[str, dict[str, str]]], concurrency: int = CONCURRENCY) -> tuple[float, float]:
    """Send every (path, headers) GET with `concurrency` keep-alive clients; (requests/s, p99 ms)."""
    work: queue.Queue[tuple[str, dict[str, str]]] = queue.Queue()
    for item in requests:
        work.put(item)
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            while True:
                try:
                    path, headers = work.get_nowait()
                except queue.Empty:
                    return
                start = time.perf_counter()
                status = client.get(path, headers=headers).status_code
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    if status != 200:
                        failures.append(status)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, e.g. status {failures[0]}")
    latencies.sort()
    return len(latencies) / wall, latencies[int(len(latencies) * 0.99) - 1] * 1000


def presigned(sign: Callable[[str], dict[str, str]], path: str, count: int) -> list[tuple[str, dict[str, str]]]:
    """`count` requests to `path`, each signed with a fresh nonce."""
    return [(path, sign(path)) for _ in range(count)]


class BlockEverySecond:
    """Mines one block a second on the node until stopped: new blocks that do not touch the job."""

    def __init__(self, w3: object) -> None:
        self._w3, self._stop, self.mined = w3, threading.Event(), 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self._w3.provider.make_request("evm_mine", [])  # type: ignore[attr-defined]  # a Web3 instance; typed object to keep web3 out of the bench's imports
            self.mined += 1

    def __enter__(self) -> BlockEverySecond:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _wait_for(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the gateway exited: {log.read_text(errors='replace')}")
        try:
            if httpx.get(url + "/domain", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("the gateway did not start")


def main() -> None:
    from custos.demo_processes import GATEWAY_URL, reported_url
    from gateway.auth import RequestDomain, sign_request
    from ledger.keystore import DEV_PASSWORD, DEV_SCRYPT_N, Keystore
    from tests.backends import anvil, throwaway_accounts
    from tests.gateway.scenario import deploy, finished_job

    accounts = throwaway_accounts(6)
    people = dict(zip(("bank", "card", "hospital", "arbiter", "regulator"), accounts[1:6]))
    with anvil(accounts) as w3, tempfile.TemporaryDirectory() as folder:
        deployment = deploy(w3, accounts[0], people)
        job_id = finished_job(w3, deployment, people)
        (Path(folder) / "deployment.json").write_text(deployment.to_json())
        Keystore(Path(folder) / "keys").save("bank", bytes(people["bank"].key), DEV_PASSWORD, DEV_SCRYPT_N)
        command = [
            sys.executable,
            "-m",
            "custos",
            "gateway",
            "up",
            "--keystore",
            f"{folder}/keys/bank.json",
            "--rpc",
            w3.provider.endpoint_uri,
            "--deployment",
            f"{folder}/deployment.json",
            "--port",
            "0",
            "--ip-rate",
            "1000000",
            "--caller-rate",
            "1000000",
        ]
        log = Path(folder) / "gateway.log"
        with log.open("w") as out:
            proc = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            url = reported_url("the gateway", log, GATEWAY_URL, proc, 60)  # it listens on a port it picks
            _wait_for(url, proc, log)
            domain = RequestDomain(deployment.chain_id, deployment.addresses["Consortium"], people["bank"].address)
            key = bytes(people["regulator"].key)

            def sign(path: str) -> dict[str, str]:
                return sign_request(key, domain, "GET", path, b"", int(time.time())).as_headers()

            load(url, [("/domain", {})] * 200)  # warm-up: connections, index sync, verifier caches
            load(url, presigned(sign, f"/audit/jobs/{job_id}", 100))
            with BlockEverySecond(w3) as blocks:
                base_rps, base_p99 = load(url, [("/domain", {})] * REQUESTS)
                trail_rps, trail_p99 = load(url, presigned(sign, f"/audit/jobs/{job_id}", REQUESTS))
                list_rps, list_p99 = load(url, presigned(sign, "/audit/jobs", REQUESTS))
                me_rps, me_p99 = load(url, presigned(sign, "/members/me", REQUESTS))
            print(f"{blocks.mined} blocks mined in the background during the runs", file=sys.stderr)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    baseline = "GET /domain (unsigned, no query), same server, client and a block a second"
    emit("gateway_audit_job_trail_rps", trail_rps, "req/s", baseline, base_rps)
    emit("gateway_audit_job_trail_p99", trail_p99, "ms", baseline + " p99", base_p99)
    emit("gateway_audit_job_list_rps", list_rps, "req/s", baseline, base_rps)
    emit("gateway_audit_job_list_p99", list_p99, "ms", baseline + " p99", base_p99)
    emit("gateway_signed_members_me_rps", me_rps, "req/s", baseline, base_rps)
    emit("gateway_signed_members_me_p99", me_p99, "ms", baseline + " p99", base_p99)


if __name__ == "__main__":
    main()
