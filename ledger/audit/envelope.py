"""The frame of every JSON answer: schema version, chain, pinned genesis, head and its finality."""

from __future__ import annotations

from typing import Any

from ledger.audit.chainview import ChainView

SCHEMA = "custos.audit/1"


def envelope(view: ChainView, body: dict[str, Any]) -> dict[str, Any]:
    """`body` inside the frame a compliance tool can key on (`schema` first)."""
    head = view.head()
    block = view.block(head)
    count = block.seal_count
    finality: dict[str, Any] = {"sealed": None, "detail": "not a sealed Custos chain"}
    if count is not None:
        finality = {
            "sealed": count.sealed,
            "seals": len(count.signers),
            "validators": len(count.validators),
            "quorum": count.quorum,
            "detail": count.describe(),
        }
    genesis = view.block(0).header.hash
    return {
        "schema": SCHEMA,
        "chainId": view.chain_id,
        "genesis": "0x" + genesis.hex(),
        "genesisPinned": view.trust is not None and view.trust.genesis_hash == genesis,
        "head": {"number": head, "hash": "0x" + block.header.hash.hex()},
        "finality": finality,
        **body,
    }
