"""The Beacon test contract (ledger/abi/Beacon.json): its ABI and a helper that pings it."""

from __future__ import annotations

from web3 import Web3

from ledger.artifacts import load
from ledger.client import TransactionSender

BEACON_ABI = load("Beacon").abi
PING = Web3().eth.contract(abi=BEACON_ABI)


def ping(sender: TransactionSender, beacon: str, step: int = 1) -> None:
    """Send Beacon.ping(step) from `sender`."""
    sender.transact(beacon, bytes.fromhex(PING.encode_abi("ping", [step])[2:]), gas=80_000)
