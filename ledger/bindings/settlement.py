"""Settlement: credits, pull withdrawals, escrow and fee views."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ledger.bindings.base import ContractBinding
from ledger.client.sender import Receipt


@dataclass(frozen=True)
class Withdrawal:
    """Credits just withdrawn to the sender."""

    amount: int
    receipt: Receipt


@dataclass(frozen=True)
class Split:
    """The payout rule's split of an escrow (Settlement.previewSplit)."""

    source_shares: tuple[int, ...]
    compute_share: int
    dust: int


class Settlement(ContractBinding):
    """The Settlement contract."""

    NAME = "Settlement"

    def withdraw(self) -> Withdrawal:
        """Withdraw all of the sender's credits."""
        receipt = self._send("withdraw")
        return Withdrawal(self._one(receipt, "PaymentWithdrawn")["amount"], receipt)

    def credit_of(self, account: str) -> int:
        """Credits `account` may withdraw."""
        return int(self._call("creditOf", account))

    def escrow_of(self, job_id: int) -> int:
        """Escrow held for a job."""
        return int(self._call("escrowOf", job_id))

    def fee_bps(self) -> int:
        """The compute fee new jobs get, in basis points (each job keeps its own: `JobLedger.job_terms`)."""
        return int(self._call("feeBps"))

    def stray_balance(self) -> int:
        """Tokens held that are neither escrow nor credits (sent by mistake; governance may sweep them)."""
        return int(self._call("strayBalance"))

    def preview_split(
        self,
        escrow: int,
        prices: Sequence[int],
        compute_count: int,
        weights: Sequence[int],
        fee_bps: int | None = None,
    ) -> Split:
        """The contract's own split of `escrow` at `fee_bps` (default: the current fee), to cross-check
        `ledger.payout.split`."""
        fee = self.fee_bps() if fee_bps is None else fee_bps
        shares, compute_share, dust = self._call(
            "previewSplit", escrow, list(prices), fee, compute_count, list(weights)
        )
        return Split(tuple(shares), compute_share, dust)
