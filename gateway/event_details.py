"""Each event's arguments decoded for a person: who was paid how much, which source and version,
how consent was given, who signed and who submitted. Values stay exact (addresses, hashes,
base units; ε and δ as exact decimals); the templates decide how to show and link them by `kind`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.schemas.audit import DetailKind, StepDetail
from ledger.index.store import IndexedEvent
from ledger.protocol import kind_name
from ledger.units import format_delta, format_epsilon

# event → (argument, label, kind), in the order a reader wants them; jobId is in the page's heading.
_FIELDS: dict[str, list[tuple[str, str, DetailKind]]] = {
    "JobOpened": [
        ("requester", "requester", "address"),
        ("budget", "budget", "amount"),
        ("paramsHash", "parameters hash", "hash"),
        ("inputsHash", "inputs hash", "hash"),
        ("deadline", "deadline", "time"),
    ],
    "ConsentGiven": [("sourceId", "source", "source"), ("owner", "owner", "address")],
    "ResultCommitted": [
        ("committer", "committer", "address"),
        ("resultHash", "result hash", "hash"),
        ("transcriptRoot", "transcript root", "hash"),
        ("contributionHash", "contribution hash", "hash"),
        ("utilityTableHash", "utility table hash", "hash"),
    ],
    "AttestationRecorded": [("signer", "signer", "address"), ("submitter", "submitter", "address")],
    "JobDisputed": [("disputer", "disputer", "address"), ("evidenceHash", "evidence hash", "hash")],
    "DisputeResolved": [("released", "escrow released", "bool")],
    "JobFinalized": [("escrow", "escrow", "amount")],
    "JobCancelled": [("refund", "refund", "amount")],
    "JobAborted": [("by", "aborted by", "address"), ("reason", "reason", "text")],
    "EscrowDeposited": [("payer", "payer", "address"), ("amount", "amount", "amount")],
    "PaymentCredited": [("payee", "payee", "address"), ("amount", "amount", "amount")],
    "EscrowReleased": [("amount", "amount", "amount"), ("feeBps", "fee (basis points)", "text")],
    "EscrowRefunded": [("requester", "refunded to", "address"), ("amount", "amount", "amount")],
    "PaymentWithdrawn": [("payee", "payee", "address"), ("amount", "amount", "amount")],
    "DataSourceRegistered": [
        ("sourceId", "source", "source"),
        ("owner", "owner", "address"),
        ("commitment", "commitment (Merkle root)", "hash"),
        ("rowCount", "rows", "text"),
        ("pricePerUse", "price per use", "amount"),
        ("schemaHash", "schema hash", "hash"),
    ],
    "CommitmentUpdated": [
        ("sourceId", "source", "source"),
        ("version", "version", "text"),
        ("commitment", "commitment (Merkle root)", "hash"),
        ("rowCount", "rows", "text"),
    ],
    "SourceTermsUpdated": [("sourceId", "source", "source"), ("pricePerUse", "price per use", "amount")],
    "AutoConsentSet": [
        ("sourceId", "source", "source"),
        ("requester", "requester", "address"),
        ("enabled", "automatic consent", "bool"),
    ],
    "RequesterAccessSet": [
        ("sourceId", "source", "source"),
        ("requester", "requester", "address"),
        ("allowed", "allowed", "bool"),
    ],
    "Transfer": [("from", "from", "address"), ("to", "to", "address"), ("value", "amount", "amount")],
    "Approval": [("owner", "owner", "address"), ("spender", "spender", "address"), ("value", "allowance", "amount")],
    "TokensMinted": [("to", "to", "address"), ("amount", "amount", "amount")],
    "MemberAdded": [("member", "member", "address"), ("name", "name", "text"), ("roles", "roles", "text")],
    "MemberRemoved": [("member", "member", "address")],
    "RolesChanged": [("member", "member", "address"), ("newRoles", "roles", "text")],
    "PrivacyBudgetSet": [
        ("sourceId", "source", "source"),
        ("owner", "owner", "address"),
        ("exactAllowed", "exact (non-DP) jobs allowed", "bool"),
    ],
    "PrivacyBudgetReserved": [("sourceId", "source", "source")],
    "PrivacyBudgetSpent": [("sourceId", "source", "source")],
    "PrivacyBudgetReleased": [("sourceId", "source", "source")],
}


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _reason(value: Any) -> str:
    raw = bytes.fromhex(value[2:]) if isinstance(value, str) and value.startswith("0x") else value
    return raw.rstrip(b"\x00").decode("ascii", "replace") if isinstance(raw, bytes | bytearray) else str(value)


def _opened(event: IndexedEvent) -> list[StepDetail]:
    args = event.args
    details = [StepDetail(label="kind", value=kind_name(args["kind"]), kind="text")]
    for source, version in zip(args["sourceIds"], args["versions"], strict=False):
        details.append(StepDetail(label=f"source (version {version})", value=str(source), kind="source"))
    details += [StepDetail(label="compute party", value=p, kind="address") for p in args["computeParties"]]
    return details


def _committed(event: IndexedEvent) -> list[StepDetail]:
    weights = event.args.get("weights", [])
    return [StepDetail(label="weights", value=", ".join(str(w) for w in weights), kind="text")]


def _consent(event: IndexedEvent) -> list[StepDetail]:
    mode = "automatic (the source's policy)" if event.args.get("automatic") else "explicit (the owner's transaction)"
    return [StepDetail(label="consent", value=mode, kind="text")]


def _privacy(event: IndexedEvent) -> list[StepDetail]:
    # ε and δ are fixed-point integers on chain (micro-ε, atto-δ): shown as the decimals people set
    figures = [("epsilonTotal", "ε total", format_epsilon), ("deltaTotal", "δ total", format_delta)]
    figures += [("epsilon", "ε", format_epsilon), ("delta", "δ", format_delta)]
    args = event.args
    return [
        StepDetail(label=label, value=show(int(args[arg])), kind="text") for arg, label, show in figures if arg in args
    ]


_EXTRA: dict[str, Callable[[IndexedEvent], list[StepDetail]]] = {
    "JobOpened": _opened,
    "ResultCommitted": _committed,
    "ConsentGiven": _consent,
    **dict.fromkeys(
        ("PrivacyBudgetSet", "PrivacyBudgetReserved", "PrivacyBudgetSpent", "PrivacyBudgetReleased"), _privacy
    ),
}


def details(event: IndexedEvent) -> list[StepDetail]:
    """The event's arguments as labelled, typed details (unknown events: every argument as text)."""
    fields = _FIELDS.get(event.event)
    if fields is None:
        return [StepDetail(label=k, value=_text(v), kind="text") for k, v in event.args.items() if k != "jobId"]
    found = []
    for arg, label, kind in fields:
        if arg in event.args:
            value = _reason(event.args[arg]) if arg == "reason" else _text(event.args[arg])
            found.append(StepDetail(label=label, value=value, kind=kind))
    extra = _EXTRA.get(event.event)
    return found + (extra(event) if extra else [])
