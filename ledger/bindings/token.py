"""CustosToken: the settlement token (ERC-20) — balances and approvals."""

from __future__ import annotations

from ledger.bindings.base import ContractBinding
from ledger.client.sender import Receipt


class CustosToken(ContractBinding):
    """The CustosToken contract."""

    NAME = "CustosToken"

    def balance_of(self, account: str) -> int:
        """`account`'s token balance."""
        return int(self._call("balanceOf", account))

    def allowance(self, owner: str, spender: str) -> int:
        """What `spender` may pull from `owner`."""
        return int(self._call("allowance", owner, spender))

    def approve(self, spender: str, amount: int) -> Receipt:
        """Let `spender` (e.g. Settlement, for a job's budget) pull `amount`."""
        return self._send("approve", spender, amount)

    def transfer(self, to: str, amount: int) -> Receipt:
        """Send `amount` to another member."""
        return self._send("transfer", to, amount)
