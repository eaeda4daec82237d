"""The bundle's shape (docs/evidence-bundle.md): constants, reading, and the keyed log queries it proves.

A bundle proves three kinds of events (each a `KeyedQuery` on an indexed argument):
the job's (`jobId` on JobLedger and Settlement), the terms of its sources (`sourceId` on
DataRegistry), and the Consortium's validator-set changes (by event topic). For every
header in the bundle's range whose logs bloom may hold a log of one of these queries, the
bundle carries all of that block's receipts, so the verifier can see every such log.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eth_bloom import BloomFilter
from eth_utils import event_abi_to_log_topic

from ledger.bounded_json import JsonTooDeep, loads

FORMAT = "custos-evidence-bundle"
VERSION = 1
TERMS_EVENTS = ("DataSourceRegistered", "SourceTermsUpdated")
MAX_BYTES = 512 * 1024 * 1024


class BundleError(ValueError):
    """The file is not an evidence bundle this verifier reads."""


def load_bundle(path: str | Path) -> dict[str, Any]:
    """Read and shape-check a bundle file; `BundleError` says why it cannot be read."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise BundleError(f"cannot read {path}: {exc}") from None
    if len(raw) > MAX_BYTES:
        raise BundleError(f"{path} is larger than {MAX_BYTES} bytes")
    try:
        bundle = loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, JsonTooDeep) as exc:
        raise BundleError(f"{path} is not JSON: {exc}") from None
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise BundleError(f"{path} is not a {FORMAT}")
    if bundle.get("version") != VERSION:
        raise BundleError(f"{path} is version {bundle.get('version')!r}; this verifier reads version {VERSION}")
    for key in ("chainId", "genesis", "contracts", "job", "headers", "events", "abi"):
        if key not in bundle:
            raise BundleError(f"{path} lacks '{key}'")
    for key, bits in (("job", 256), ("chainId", 64)):
        value = bundle[key]
        if type(value) is not int or not 0 <= value < 2**bits:  # not bool, float or text: the report names the job
            raise BundleError(f"{path}: '{key}' is {value!r:.40}, not an integer from 0 to 2**{bits} - 1")
    return bundle


def hexb(value: str) -> bytes:
    """Bytes of a 0x-prefixed hex string."""
    if not isinstance(value, str) or not value.startswith("0x"):
        raise BundleError(f"expected 0x-hex, got {value!r}")
    return bytes.fromhex(value[2:])


def word(value: int) -> bytes:
    """A uint256 as its 32-byte topic."""
    return value.to_bytes(32, "big")


def bloom_may_hold(bloom: bytes, address: bytes, topic: bytes | None) -> bool:
    """The header bloom may contain a log of `address` with `topic` (None: any topic)."""
    found = BloomFilter(int.from_bytes(bloom, "big"))
    return address in found and (topic is None or topic in found)


def topic0(abi_event: Mapping[str, Any]) -> bytes:
    """keccak256 of the event's canonical signature."""
    return event_abi_to_log_topic(dict(abi_event))  # type: ignore[arg-type]  # eth-utils wants its ABIEvent TypedDict; this is the artifact's event entry
