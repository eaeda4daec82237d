"""Off-chain protocols and jobs: PSI, secret sharing, secure aggregation, federated learning,
contribution scores, transcripts and attestations. Reaches the chain only through `ledger`.
"""
