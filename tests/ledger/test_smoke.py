"""A compiled artifact deploys to py-evm and answers calls."""

from __future__ import annotations

from eth_utils import is_checksum_address

from ledger.smoke import run_smoke


def test_smoke_deploys_beacon_and_reads_back_the_ping() -> None:
    result = run_smoke()
    assert is_checksum_address(result.address)
    assert result.count == 42
    assert 50_000 < result.deploy_gas < 1_000_000
