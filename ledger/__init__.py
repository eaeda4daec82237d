"""Everything about the chain: compiled contracts, the embedded node, clients, audit trail.

This is the only layer that talks to web3 or py-evm; `compute` and `gateway` reach the
chain through it.
"""

import importlib.util as _importlib_util
import os as _os

# eth-hash picks pycryptodome first when both are installed; the C Keccak of safe-pysha3 hashes
# ~6x faster (Merkle batches, the event decoder, py-evm's tries). Chosen before the first hash.
if _importlib_util.find_spec("sha3") is not None:
    _os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")
