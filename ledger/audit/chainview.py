"""What the auditor believes about the chain: blocks checked to their roots and seals, across several nodes.

`ChainView` reads from one or more nodes (ideally run by different organisations). Every
answer it uses is asked of every node, and any disagreement is a failed "nodes agree"
check. A block is accepted as the one at its height only when (1) its hash is recomputed
from the header's RLP, (2) its transactions and receipts hash to the header's roots, and
(3) it carries seals from a quorum of the validators of that height, as derived from the
pinned genesis (`ledger.audit.trustroot`). Everything is cached for one view; build a new
view for a new question so that a history change between questions is not hidden.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import rlp
from eth_account import Account
from hexbytes import HexBytes
from web3 import Web3

from ledger.audit.report import FAILED, NOT_APPLICABLE, PASSED, Check
from ledger.audit.roots import RawBlock, RawHeader, RootsError, encode_receipt, trie_root
from ledger.audit.trustroot import VALIDATOR_CHANGES, SealCount, TrustRoot, ValidatorChange, count_seals
from ledger.chain.sealing import validator_set_hash
from ledger.errors import AuditError
from ledger.index.decode import event_specs
from ledger.index.log_ranges import ranged_logs

# Header fields after the London base, in order, as JSON names (present only on later forks).
_LATER_FIELDS = ("baseFeePerGas", "withdrawalsRoot", "blobGasUsed", "excessBlobGas", "parentBeaconBlockRoot")
_BASE_FIELDS = (
    "parentHash",
    "sha3Uncles",
    "miner",
    "stateRoot",
    "transactionsRoot",
    "receiptsRoot",
    "logsBloom",
    "difficulty",
    "number",
    "gasLimit",
    "gasUsed",
    "timestamp",
    "extraData",
    "mixHash",
    "nonce",
)
_INT_FIELDS = {"difficulty", "number", "gasLimit", "gasUsed", "timestamp", "baseFeePerGas", "blobGasUsed"}
_INT_FIELDS |= {"excessBlobGas"}


@dataclass
class BlockEvidence:
    """One block as the nodes served it, with what was verified about it."""

    number: int
    header: RawHeader
    transactions: tuple[bytes, ...] | None  # as the trie stores them, None if no node serves raw blocks
    receipts: tuple[bytes, ...]  # consensus encodings
    receipts_json: tuple[Mapping[str, Any], ...]
    seals: tuple[bytes, ...]
    seal_count: SealCount | None
    checks: list[Check] = field(default_factory=list)
    senders: dict[int, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No check of this block failed."""
        return all(c.status != FAILED for c in self.checks)

    def sender(self, tx_index: int) -> str:
        """The checksummed sender of a transaction, recovered from its signature (not from the node's JSON)."""
        if tx_index not in self.senders:
            if self.transactions is None:
                self.senders[tx_index] = Web3.to_checksum_address(self.receipts_json[tx_index]["from"])
            else:
                self.senders[tx_index] = Account.recover_transaction(self.transactions[tx_index])
        return self.senders[tx_index]


class ChainView:
    """Verified reads over `nodes` (all asked, all must agree), judged against `trust`."""

    def __init__(
        self,
        nodes: Sequence[Web3],
        chain_id: int,
        trust: TrustRoot | None,
        governance: tuple[str, Sequence[Mapping[str, Any]]] | None = None,
    ) -> None:
        if not nodes:
            raise AuditError("no node to verify against")
        self.nodes, self.chain_id, self.trust = list(nodes), chain_id, trust
        self._governance = governance  # (Consortium address, ABI): where validator changes are read
        self._derived: Check | None = None
        self.pinned = trust is not None
        self._reported: set[int] = set()
        self._blocks: dict[int, BlockEvidence] = {}
        self._head: int | None = None
        self._raw: bool | None = None
        self.disagreements: list[Check] = []

    # -- raw access --
    def ask(self, method: str, params: list[Any], what: str) -> Any:
        """Ask every node; the first node's answer if all agree, else a failed "nodes agree" is recorded."""
        answers = [_request(w3, method, params) for w3 in self.nodes]
        first = canonical(answers[0])
        if any(canonical(a) != first for a in answers[1:]):
            self.disagreements.append(
                Check("nodes agree", what, FAILED, f"the {len(self.nodes)} nodes answer {method} differently")
            )
        return answers[0]

    def ask_first(self, method: str, params: list[Any]) -> Any:
        """Ask the first node only (for bulk data that is then checked against agreed roots)."""
        return _request(self.nodes[0], method, params)

    def head(self) -> int:
        """The lowest head among the nodes (every node can answer for it)."""
        if self._head is None:
            self._head = min(int(_request(w3, "eth_blockNumber", []), 16) for w3 in self.nodes)
        return self._head

    # -- blocks --
    def block(self, number: int) -> BlockEvidence:
        """The block at `number`, verified to its roots and seals (checks recorded on it)."""
        if number not in self._blocks:
            self._blocks[number] = self._load(number)
        return self._blocks[number]

    def validator_set(self) -> Check:
        """Derive each height's validators from genesis and the Consortium's governance events (once).

        The events are read from every node (they must agree) and each one's block is checked
        against the validators of its own height, so the derivation never leans on a node's word.
        """
        if self._derived is not None:
            return self._derived
        if self.trust is None:
            self.trust = self._unpinned_root()
        if self.trust is None:
            self._derived = Check("validator set", "genesis", NOT_APPLICABLE, "not a sealed Custos chain")
            return self._derived
        self._derived = Check("validator set", "genesis", PASSED, "genesis only")  # guards the recursion below
        changes: list[ValidatorChange] = []
        if self._governance is not None:
            address, abi = self._governance
            specs = {t: s for t, s in event_specs("Consortium", abi).items() if s.name in VALIDATOR_CHANGES}
            query = {"address": address, "topics": [["0x" + t.hex() for t in specs]]}
            logs = self.logs(query, 0, self.head(), "validator set")
            for log in logs:
                topics = [bytes(HexBytes(t)) for t in log["topics"]]
                spec = specs[topics[0]]
                changes.append(
                    ValidatorChange(
                        int(log["blockNumber"], 16),
                        int(log["logIndex"], 16),
                        spec.name,
                        spec.decode(topics, bytes(HexBytes(log["data"]))),
                    )
                )
        self.trust = self.trust.with_changes(changes)
        failed = [c for n in sorted({c.block for c in changes}) for c in self.block(n).checks if c.status == FAILED]
        if failed:
            self._derived = Check("validator set", "genesis", FAILED, f"a governance block fails: {failed[0].detail}")
        else:
            heights = sorted({c.block for c in changes})
            self._derived = Check(
                "validator set",
                "genesis",
                PASSED,
                f"genesis {len(self.trust.genesis_validators)} validator(s), {len(changes)} governance event(s)"
                + (f" in blocks {heights[0]}..{heights[-1]}" if heights else ""),
            )
        return self._derived

    def _unpinned_root(self) -> TrustRoot | None:
        """Without a pin: the node's validator set, accepted only if the genesis it serves commits to it.

        Weaker than a pin (a node that rewrote genesis too would pass), so "genesis pinned" says so.
        """
        answer = _request(self.nodes[0], "custos_validators", [], missing=None)
        if not answer:
            return None
        validators = frozenset(bytes(HexBytes(v)) for v in answer)
        genesis = self.ask("debug_getRawBlock", ["0x0"], "block 0")
        header = RawBlock.decode(bytes(HexBytes(genesis))).header
        if header.extra_data != validator_set_hash(validators):
            raise AuditError("the node's validator set is not the one its genesis commits to")
        self.pinned = False
        return TrustRoot(self.chain_id, header.hash, validators)

    def _load(self, number: int) -> BlockEvidence:
        self.validator_set()
        subject = f"block {number}"
        tag = hex(number)
        raw = self.ask("debug_getRawBlock", [tag], subject) if self._serves_raw() else None
        checks: list[Check] = []
        if raw is not None:
            block = RawBlock.decode(bytes(HexBytes(raw)))
            header, txs = block.header, block.transactions
            if block.header.number != number:
                raise AuditError(f"a node served block {block.header.number} for {number}")
        else:
            served = self.ask("eth_getBlockByNumber", [tag, False], subject)
            if served is None:
                raise AuditError(f"no block {number} on the node")
            header, txs = _header_from_json(served), None
            if header.hash != bytes(HexBytes(served["hash"])):
                checks.append(Check("block roots", subject, FAILED, "the header does not hash to the served hash"))
        receipts_json = tuple(self.ask_first("eth_getBlockReceipts", [tag]) or ())
        if txs is None:  # no raw blocks (anvil, geth without debug): the raw transactions one by one
            txs = self._raw_transactions(tag, len(receipts_json), subject)
        receipts = tuple(encode_receipt(r) for r in receipts_json)
        checks.append(_roots_check(subject, header, txs, receipts))
        seals = self._seals(header.hash, subject)
        count = None
        if self.trust is not None and number > 0:
            count = count_seals(self.chain_id, header.hash, seals, self.trust.validators_at(number))
            checks.append(Check("seal quorum", subject, PASSED if count.sealed else FAILED, _seal_detail(count)))
        elif number == 0 and self.trust is not None:
            ok = header.hash == self.trust.genesis_hash
            detail = "" if ok else f"genesis 0x{header.hash.hex()} is not the pinned 0x{self.trust.genesis_hash.hex()}"
            checks.append(Check("genesis pinned", subject, PASSED if ok else FAILED, detail))
        elif seals:
            checks.append(Check("seal quorum", subject, FAILED, "deployment.json pins no genesis validator set"))
        else:
            checks.append(Check("seal quorum", subject, NOT_APPLICABLE, "not a sealed Custos chain"))
        return BlockEvidence(number, header, txs, receipts, receipts_json, seals, count, checks)

    def _raw_transactions(self, tag: str, count: int, subject: str) -> tuple[bytes, ...] | None:
        found = []
        for index in range(count):
            try:
                raw = self.ask("eth_getRawTransactionByBlockNumberAndIndex", [tag, hex(index)], subject)
            except AuditError:  # a node without the method: the transactions root goes unchecked, and says so
                return None
            if not isinstance(raw, str):
                return None
            found.append(bytes(HexBytes(raw)))
        return tuple(found)

    def _serves_raw(self) -> bool:
        if self._raw is None:
            self._raw = all(_supports(w3, "debug_getRawBlock", ["0x0"]) for w3 in self.nodes)
        return self._raw

    def _seals(self, block_hash: bytes, subject: str) -> tuple[bytes, ...]:
        """Every seal any node holds for the block (quorum seals: a list; the single node: one)."""
        found: list[bytes] = []
        for w3 in self.nodes:
            answer = _request(w3, "custos_getBlockSeal", ["0x" + block_hash.hex()], missing=None)
            values = answer if isinstance(answer, list) else [answer] if answer else []
            for value in values:
                seal = bytes(HexBytes(value))
                if seal not in found:
                    found.append(seal)
        return tuple(found)

    def genesis_check(self) -> Check:
        """Block 0 on every node is the pinned genesis."""
        self.validator_set()
        if not self.pinned:
            return Check(
                "genesis pinned",
                "block 0",
                NOT_APPLICABLE,
                "deployment.json pins no genesis: seals are judged against the validators the node's genesis names",
            )
        return next(c for c in self.block(0).checks if c.name == "genesis pinned")

    def block_checks(self, numbers: Sequence[int]) -> list[Check]:
        """The checks of each block in `numbers` not yet reported by this view (each block once per view)."""
        checks: list[Check] = []
        for number in sorted(set(numbers) - self._reported):
            self._reported.add(number)
            try:
                checks += self.block(number).checks
            except (AuditError, RootsError, rlp.DecodingError, ValueError, KeyError, TypeError) as exc:
                checks.append(Check("block roots", f"block {number}", FAILED, str(exc)))
        return checks

    def logs(self, query: Mapping[str, Any], first: int, last: int, what: str) -> list[Mapping[str, Any]]:
        """eth_getLogs of blocks first..last on every node (a difference is a failed "nodes agree").

        Asked in ranges the nodes accept (`ranged_logs`: halved while one refuses), so a chain of
        any length can be read.
        """

        def fetch(start: int, end: int) -> list[Mapping[str, Any]] | None:
            try:
                answer = self.ask("eth_getLogs", [{**query, "fromBlock": hex(start), "toBlock": hex(end)}], what)
            except AuditError:
                if start == end:
                    raise
                return None  # e.g. "block range too large": asked again in halves
            return list(answer or [])

        return [log for found in ranged_logs(fetch, first, last) for log in found]


def _seal_detail(count: SealCount) -> str:
    detail = count.describe()
    return detail + ("; " + "; ".join(count.problems) if count.problems else "")


def _roots_check(subject: str, header: RawHeader, txs: tuple[bytes, ...] | None, receipts: tuple[bytes, ...]) -> Check:
    if trie_root(receipts) != header.receipts_root:
        return Check("block roots", subject, FAILED, "the served receipts do not hash to the header's receiptsRoot")
    if txs is None:
        return Check("block roots", subject, PASSED, "receipts root (the node serves no raw block for the tx root)")
    if trie_root(txs) != header.tx_root:
        return Check("block roots", subject, FAILED, "the block's transactions do not hash to its transactionsRoot")
    return Check("block roots", subject, PASSED, "transactions and receipts roots")


def _header_from_json(block: Mapping[str, Any]) -> RawHeader:
    fields: list[Any] = []
    for name in (*_BASE_FIELDS, *_LATER_FIELDS, "requestsHash"):
        if name not in block and name in (*_LATER_FIELDS, "requestsHash"):
            continue
        value = block[name]
        fields.append(int(value, 16) if name in _INT_FIELDS else bytes(HexBytes(value)))
    return RawHeader.decode(rlp.encode(fields))


def _request(w3: Web3, method: str, params: list[Any], missing: Any = ...) -> Any:
    answer = w3.provider.make_request(method, params)  # type: ignore[arg-type]  # web3 types RPC method names as an enum of its own methods
    if "error" in answer:
        if missing is not ...:
            return missing
        raise AuditError(f"{method}: {answer['error'].get('message')}")
    return _plain(answer.get("result"))


# Fields some node software adds and others omit; nothing the verifier reads from an answer
# (block times come from sealed headers, a log's place from its block and index).
OPTIONAL_FIELDS = frozenset({"blockTimestamp", "removed", "totalDifficulty", "size", "sealFields", "yParity"})


# JSON-RPC quantities: compact hex whose spelling varies ("0x0a" from one node, "0xa" from another).
QUANTITY_FIELDS = frozenset(
    {
        "blockNumber", "logIndex", "transactionIndex", "number", "timestamp", "gas", "gasUsed", "gasLimit",
        "gasPrice", "cumulativeGasUsed", "effectiveGasPrice", "baseFeePerGas", "maxFeePerGas",
        "maxPriorityFeePerGas", "value", "chainId", "status", "type", "difficulty", "r", "s",
    }
)  # fmt: skip


def canonical(value: Any, field: str | None = None) -> Any:
    """An answer as decoded values, to compare nodes by meaning and not by spelling.

    Hex strings compare in lower case (a checksummed and a plain address are the same
    address), the quantity fields above by value, and the optional fields above are left out.
    Everything else must be equal: a different hash, topic, data byte or position disagrees.
    """
    if isinstance(value, Mapping):
        return {k: canonical(v, k) for k, v in value.items() if k not in OPTIONAL_FIELDS}
    if isinstance(value, list | tuple):
        return [canonical(v, field) for v in value]
    if isinstance(value, str) and value[:2] in ("0x", "0X"):
        digits = value[2:].lower()
        if field in QUANTITY_FIELDS:
            try:
                return int(digits or "0", 16)
            except ValueError:
                return digits
        return digits
    return value


def _plain(value: Any) -> Any:
    """web3 may hand back AttributeDicts/HexBytes: make answers comparable plain JSON."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


def _supports(w3: Web3, method: str, params: list[Any]) -> bool:
    answer = w3.provider.make_request(method, params)  # type: ignore[arg-type]  # as above
    return "error" not in answer
