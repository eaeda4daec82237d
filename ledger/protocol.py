"""The facts the contracts, the ledger, compute, the gateway and the CLI share, defined once.

docs/protocol.md is their specification; everything else imports them from here:

- `JobKind`: the job kinds, numbered as `JobLedger.openJob(uint8 kind, ...)` and the
  `allowedKinds` bitmask (bit k = kind k) number them;
- the EIP-712 attestation (`AttestationDomain`, `Attestation`: typed data, digest, sign,
  recover), `contribution_hash` and `privacy_hash`, exactly as `JobLedger` verifies them;
- the privacy budget's fixed-point units (micro-ε, atto-δ) and their exact conversions
  (`parse_epsilon`, `format_epsilon`, `parse_delta`, `format_delta`);
- the settlement token's decimals, and the one exact conversion between a decimal amount
  a person types or reads (`"12.5"`) and the integer base units on chain
  (`parse_amount`, `format_amount`). Amounts never pass through `float`;
- `Deployment`: deployment.json, the chain and the six contract addresses (and the
  PrivacyBudget the JobLedger created, at an address derived from the JobLedger's).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import IntEnum
from pathlib import Path
from typing import Any

import rlp
from eth_abi import encode
from eth_typing import ChecksumAddress
from eth_utils import is_address, keccak, to_canonical_address, to_checksum_address

from ledger.errors import DeploymentError, ProtocolValueError
from ledger.signing import EIP712_DOMAIN_TYPE, recover_typed, sign_typed, typed_digest

# -- job kinds ---------------------------------------------------------------------------


class JobKind(IntEnum):
    """A job's kind as JobLedger records it (`uint8`); bit `k` of a source's `allowedKinds` allows kind `k`."""

    PSI = 0
    SECURE_STATS = 1
    SECURE_AGGREGATION = 2
    FEDAVG = 3
    HETERO_LR = 4

    @property
    def label(self) -> str:
        """The name a person types on the command line: `psi`, `secure-stats`, ..., `hetero-lr`."""
        return self.name.lower().replace("_", "-")

    @property
    def is_dp(self) -> bool:
        """Whether jobs of this kind run a DP mechanism and spend privacy budget (PrivacyBudget.DP_KINDS)."""
        return self in (JobKind.SECURE_STATS, JobKind.FEDAVG)

    @property
    def bit(self) -> int:
        """This kind's bit in an `allowedKinds`/`autoConsentKinds` mask."""
        return 1 << self.value

    @classmethod
    def parse(cls, text: str) -> JobKind:
        """The kind named `text` (`hetero-lr`, `HETERO_LR` or `4`); `ProtocolValueError` names the known ones."""
        key = text.strip().upper().replace("-", "_")
        if key.isascii() and key.isdigit() and int(key) in cls._value2member_map_:
            return cls(int(key))
        if key in cls.__members__:
            return cls[key]
        known = ", ".join(kind.label for kind in cls)
        raise ProtocolValueError(f"unknown job kind {text!r} (known: {known})")


def kinds_mask(kinds: Iterable[JobKind]) -> int:
    """The `uint256` bitmask that allows exactly `kinds`."""
    mask = 0
    for kind in kinds:
        mask |= JobKind(kind).bit
    return mask


def kind_name(kind: int) -> str:
    """The enum name of a recorded kind (`HETERO_LR`), or the number itself for a kind this code does not know."""
    return JobKind(kind).name if kind in JobKind._value2member_map_ else str(kind)


# -- EIP-712 attestation -----------------------------------------------------------------

ATTESTATION_DOMAIN_NAME = "Custos JobLedger"
ATTESTATION_DOMAIN_VERSION = "1"
ATTESTATION_TYPE = [
    {"name": "jobId", "type": "uint256"},
    {"name": "inputsHash", "type": "bytes32"},
    {"name": "resultHash", "type": "bytes32"},
    {"name": "transcriptRoot", "type": "bytes32"},
    {"name": "contributionHash", "type": "bytes32"},
    {"name": "privacyHash", "type": "bytes32"},
]
#: The privacy hash of a job that releases an exact result (no DP spend).
NO_PRIVACY_SPEND = bytes(32)


@dataclass(frozen=True)
class AttestationDomain:
    """Where attestations are verified: the chain and the JobLedger contract."""

    chain_id: int
    job_ledger: str

    def to_eip712(self) -> dict[str, Any]:
        """The EIP-712 domain object."""
        return {
            "name": ATTESTATION_DOMAIN_NAME,
            "version": ATTESTATION_DOMAIN_VERSION,
            "chainId": self.chain_id,
            "verifyingContract": to_checksum_address(self.job_ledger),
        }


@dataclass(frozen=True)
class Attestation:
    """What every attester of a job signs: the job, its inputs, result, transcript, contribution
    table and, for a DP job, the ε it spent per source (`privacy_hash`; zero for an exact job)."""

    job_id: int
    inputs_hash: bytes
    result_hash: bytes
    transcript_root: bytes
    contribution_hash: bytes
    privacy_hash: bytes = NO_PRIVACY_SPEND

    def __post_init__(self) -> None:
        for name in ("inputs_hash", "result_hash", "transcript_root", "contribution_hash", "privacy_hash"):
            if len(getattr(self, name)) != 32:
                raise ProtocolValueError(f"attestation field {name} must be 32 bytes")
        if not 0 <= self.job_id < 2**256:
            raise ProtocolValueError(f"attestation job id {self.job_id} is not a uint256")

    def typed_data(self, domain: AttestationDomain) -> dict[str, Any]:
        """The full EIP-712 message (types, primary type, domain, message)."""
        return {
            "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, "Attestation": ATTESTATION_TYPE},
            "primaryType": "Attestation",
            "domain": domain.to_eip712(),
            "message": {
                "jobId": self.job_id,
                "inputsHash": self.inputs_hash,
                "resultHash": self.result_hash,
                "transcriptRoot": self.transcript_root,
                "contributionHash": self.contribution_hash,
                "privacyHash": self.privacy_hash,
            },
        }

    def digest(self, domain: AttestationDomain) -> bytes:
        """The 32-byte EIP-712 digest the contract recovers the signer from."""
        return typed_digest(self.typed_data(domain))

    def sign(self, chain_key: bytes, domain: AttestationDomain) -> bytes:
        """The 65-byte signature of this attestation by `chain_key`."""
        return sign_typed(chain_key, self.typed_data(domain))

    def signer(self, signature: bytes, domain: AttestationDomain) -> ChecksumAddress:
        """The address that produced `signature` over this attestation; `ProtocolValueError` if none does."""
        return recover_typed(self.typed_data(domain), signature)


def inputs_hash(source_ids: Iterable[int], versions: Iterable[int], commitments: Iterable[bytes]) -> bytes:
    """keccak256(abi.encode(uint256[] sourceIds, uint64[] versions, bytes32[] commitments)), as openJob computes it."""
    return keccak(encode(["uint256[]", "uint64[]", "bytes32[]"], [list(source_ids), list(versions), list(commitments)]))


def contribution_hash(weights: Iterable[int], utility_table_hash: bytes) -> bytes:
    """keccak256(abi.encode(uint256[] weights, bytes32 utilityTableHash)), as JobLedger computes it."""
    return keccak(encode(["uint256[]", "bytes32"], [list(weights), utility_table_hash]))


def privacy_hash(epsilons_spent: Sequence[int], delta: int) -> bytes:
    """keccak256(abi.encode(uint64[] epsilonsSpent, uint64 delta)): a DP job's spend (micro-ε per
    source, aligned with its sources; atto-δ), as PrivacyBudget returns it at commit."""
    return keccak(encode(["uint64[]", "uint64"], [list(epsilons_spent), delta]))


# -- privacy budget units ----------------------------------------------------------------

#: ε on chain is an integer of micro-ε; δ an integer of atto-δ (PrivacyBudget.EPSILON_UNIT, DELTA_UNIT).
EPSILON_DECIMALS = 6
DELTA_DECIMALS = 18
EPSILON_UNIT = 10**EPSILON_DECIMALS  # micro-ε per ε
_UINT64_MAX = 2**64 - 1


def _parse_fixed(value: str | int | Decimal, decimals: int, what: str, maximum: int) -> int:
    """`value` as an exact integer count of 10^-decimals units, at most `maximum`."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ProtocolValueError(f"{what} is a decimal string, an int or a Decimal, not {type(value).__name__}")
    text = str(value).strip()
    try:
        number = Decimal(text) if len(text) <= 80 else Decimal("NaN")
    except InvalidOperation:
        raise ProtocolValueError(f"{what} {text[:40]!r} is not a number like 0.5 or 1e-6") from None
    if not number.is_finite():
        raise ProtocolValueError(f"{what} {text[:40]!r} is not a finite number")
    if number < 0:
        raise ProtocolValueError(f"{what} {text[:40]} is negative")
    if number.adjusted() > 30:
        raise ProtocolValueError(f"{what} {text[:40]} is too large")
    scaled = number.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ProtocolValueError(f"{what} {text[:40]} has more than the {decimals} decimals the chain records")
    units = int(scaled)
    if units > maximum:
        raise ProtocolValueError(f"{what} {text[:40]} is above the largest the chain records")
    return units


def _format_fixed(units: int, decimals: int) -> str:
    if isinstance(units, bool) or not isinstance(units, int):
        raise ProtocolValueError(f"units are an int, not {type(units).__name__}")
    return format(Decimal(units).scaleb(-decimals).normalize(), "f")


def parse_epsilon(value: str | int | Decimal) -> int:
    """ε in micro-ε, exactly: `parse_epsilon("0.5") == 500_000`; refuses more than 6 decimals, negatives, floats."""
    return _parse_fixed(value, EPSILON_DECIMALS, "epsilon", _UINT64_MAX)


def format_epsilon(units: int) -> str:
    """Micro-ε as an exact decimal ε: `format_epsilon(500_000) == "0.5"`."""
    return _format_fixed(units, EPSILON_DECIMALS)


def parse_delta(value: str | int | Decimal) -> int:
    """δ in atto-δ, exactly: `parse_delta("1e-6") == 10**12`; refuses more than 18 decimals and δ above 1."""
    return _parse_fixed(value, DELTA_DECIMALS, "delta", 10**DELTA_DECIMALS)


def format_delta(units: int) -> str:
    """Atto-δ as a decimal δ in scientific notation when small: `format_delta(10**12) == "1e-6"`."""
    if isinstance(units, bool) or not isinstance(units, int):
        raise ProtocolValueError(f"units are an int, not {type(units).__name__}")
    number = Decimal(units).scaleb(-DELTA_DECIMALS).normalize()
    if number == 0 or number >= Decimal("0.001"):
        return format(number, "f")
    return format(number, "e").replace("e-0", "e-").replace("E", "e")


# -- token amounts -----------------------------------------------------------------------

TOKEN_SYMBOL = "CST"
TOKEN_DECIMALS = 18
_UNIT = 10**TOKEN_DECIMALS
_UINT256_MAX = 2**256 - 1
_AMOUNT = re.compile(r"(?P<whole>[0-9]*)(?:\.(?P<fraction>[0-9]*))?")


def parse_amount(amount: str | int | Decimal) -> int:
    """An amount of tokens in base units, exactly: `parse_amount("12.5") == 12_500_000_000_000_000_000`.

    Accepts a plain decimal string (`"12"`, `"12.5"`, `"0.000000000000000001"`), an int
    (whole tokens) or a finite `Decimal`. Refuses, with a `ProtocolValueError` naming the
    reason: negatives, more than `TOKEN_DECIMALS` decimals, exponents, NaN and infinities,
    anything that is not a number, floats (never exact) and amounts beyond a uint256.
    """
    if isinstance(amount, bool) or not isinstance(amount, str | int | Decimal):
        raise ProtocolValueError(f"an amount is a decimal string, an int or a Decimal, not {type(amount).__name__}")
    if isinstance(amount, Decimal):
        if not amount.is_finite():
            raise ProtocolValueError(f"amount {amount} is not a finite number")
        amount = format(amount, "f")
    text = str(amount).strip()
    match = _AMOUNT.fullmatch(text)
    if text.startswith("-"):
        raise ProtocolValueError(f"amount {text[:40]} is negative")
    if match is None or not (match["whole"] or match["fraction"]):
        raise ProtocolValueError(f"amount {text[:40]!r} is not a plain decimal number like 12 or 12.5")
    if len(match["whole"]) > 78:  # also keeps int() below far from Python's digit limit
        raise ProtocolValueError(f"amount {text[:20]}... does not fit a uint256 of base units")
    fraction = match["fraction"] or ""
    if len(fraction.rstrip("0")) > TOKEN_DECIMALS:
        raise ProtocolValueError(f"amount {text[:40]} has more than the {TOKEN_DECIMALS} decimals {TOKEN_SYMBOL} has")
    fraction = fraction.rstrip("0")
    units: int = int(match["whole"] or "0") * _UNIT + int(fraction.ljust(TOKEN_DECIMALS, "0") or "0")
    if units > _UINT256_MAX:
        raise ProtocolValueError(f"amount {text} does not fit a uint256 of base units")
    return units


def format_amount(units: int, *, symbol: bool = False, grouped: bool = False) -> str:
    """Base units as an exact decimal amount of tokens: `format_amount(12_500_000_000_000_000_000) == "12.5"`.

    No rounding: every non-zero digit is kept and trailing zeros are dropped. `symbol`
    appends " CST"; `grouped` separates thousands in the whole part (`1,000.5`).
    """
    if isinstance(units, bool) or not isinstance(units, int):
        raise ProtocolValueError(f"base units are an int, not {type(units).__name__}")
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), _UNIT)
    text = f"{whole:,}" if grouped else str(whole)
    digits = str(fraction).rjust(TOKEN_DECIMALS, "0").rstrip("0")
    if digits:
        text += "." + digits
    return sign + text + (f" {TOKEN_SYMBOL}" if symbol else "")


# -- deployment.json ---------------------------------------------------------------------

#: The six contracts in deployment (nonce) order.
CONTRACTS = ("Consortium", "CustosToken", "DataRegistry", "Settlement", "JobLedger", "AuditAnchor")
#: The contract the JobLedger creates in its constructor (its address derives from the JobLedger's).
PRIVACY_BUDGET = "PrivacyBudget"


def create_address(sender: str, nonce: int) -> ChecksumAddress:
    """The address a creation from `sender` at `nonce` lands on (keccak(rlp([sender, nonce])))."""
    return to_checksum_address(keccak(rlp.encode([to_canonical_address(sender), nonce]))[12:])


@dataclass(frozen=True)
class Deployment:
    """Where a consortium lives: its chain id, the six contract addresses, and blocks of note.

    deployment.json is `{"chainId", "blockNumber", "contracts": {name: address}}`, as
    `ledger.deploy` writes it; `blockNumber` is the block of the last creation, an
    optional `startBlock` tells the event indexer where to begin (default 0), and an optional
    `genesis` (`{"hash", "validators"}`, written by `custos chain init`) pins the chain's genesis
    and its validator set for auditors.
    """

    chain_id: int
    addresses: Mapping[str, str]  # checksummed by __post_init__, in CONTRACTS order
    block_number: int = 0
    start_block: int = 0
    genesis: Mapping[str, Any] | None = None  # {"hash", "validators"}: the auditors' trust root, when pinned
    _ordered: tuple[ChecksumAddress, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.chain_id, bool) or not isinstance(self.chain_id, int) or self.chain_id <= 0:
            raise DeploymentError(f"deployment.json: chainId {self.chain_id!r} is not a positive integer")
        missing = [name for name in CONTRACTS if name not in self.addresses]
        if missing:
            raise DeploymentError(f"deployment.json names no {', '.join(missing)}")
        checked: dict[str, ChecksumAddress] = {}
        for name in CONTRACTS:
            address = self.addresses[name]
            if not isinstance(address, str) or not is_address(address):
                raise DeploymentError(f"deployment.json: {name} has no valid address ({address!r})")
            checked[name] = to_checksum_address(address)
        for name in ("block_number", "start_block"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise DeploymentError(f"deployment.json: {name} {value!r} is not a block number")
        object.__setattr__(self, "addresses", checked)
        object.__setattr__(self, "_ordered", tuple(checked.values()))

    def address(self, name: str) -> ChecksumAddress:
        """The address of contract `name` (one of the six, or PrivacyBudget); `DeploymentError` otherwise."""
        if name == PRIVACY_BUDGET:
            return self.privacy_budget
        if name not in self.addresses:
            raise DeploymentError(f"the deployment has no {name} (it has: {', '.join(self.addresses)})")
        return self._ordered[CONTRACTS.index(name)]

    @property
    def consortium(self) -> ChecksumAddress:
        """The Consortium contract."""
        return self._ordered[0]

    @property
    def token(self) -> ChecksumAddress:
        """The CustosToken contract."""
        return self._ordered[1]

    @property
    def registry(self) -> ChecksumAddress:
        """The DataRegistry contract."""
        return self._ordered[2]

    @property
    def settlement(self) -> ChecksumAddress:
        """The Settlement contract."""
        return self._ordered[3]

    @property
    def job_ledger(self) -> ChecksumAddress:
        """The JobLedger contract."""
        return self._ordered[4]

    @property
    def audit_anchor(self) -> ChecksumAddress:
        """The AuditAnchor contract."""
        return self._ordered[5]

    @property
    def privacy_budget(self) -> ChecksumAddress:
        """The PrivacyBudget contract: the JobLedger's first creation (contract nonces start at 1)."""
        return create_address(self.job_ledger, 1)

    def event_sources(self) -> dict[str, ChecksumAddress]:
        """Every contract whose events the audit trail indexes: the six and PrivacyBudget."""
        return {**self.addresses, PRIVACY_BUDGET: self.privacy_budget}  # type: ignore[dict-item]  # addresses holds checksummed values (__post_init__)

    def to_json(self) -> str:
        """The text of deployment.json."""
        raw: dict[str, Any] = {"chainId": self.chain_id, "blockNumber": self.block_number, "contracts": self.addresses}
        if self.start_block:
            raw["startBlock"] = self.start_block
        if self.genesis:
            raw["genesis"] = dict(self.genesis)
        return json.dumps(raw, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Deployment:
        """Parse deployment.json; `DeploymentError` names what is missing or malformed."""
        try:
            raw = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise DeploymentError(f"malformed deployment.json: not JSON ({exc})") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("contracts"), dict):
            raise DeploymentError("malformed deployment.json: no 'contracts' object")
        return cls(
            raw.get("chainId"),  # type: ignore[arg-type]  # any JSON value: __post_init__ refuses a non-integer
            raw["contracts"],
            raw.get("blockNumber", 0),
            raw.get("startBlock", 0),
            raw["genesis"] if isinstance(raw.get("genesis"), dict) else None,
        )

    @classmethod
    def load(cls, path: str | Path) -> Deployment:
        """Read and parse the deployment file at `path`."""
        try:
            text = Path(path).read_bytes()
        except OSError as exc:
            raise DeploymentError(f"no deployment file at {path} ({exc.strerror})") from None
        return cls.from_json(text)
