"""Everything about the chain: compiled contracts, the embedded node, clients, audit trail.

This is the only layer that talks to web3 or py-evm; `compute` and `gateway` reach the
chain through it.
"""
