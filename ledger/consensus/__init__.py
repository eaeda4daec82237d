"""The consortium chain: every organisation's node, ordered through etcd, final by a quorum of seals.

Protocol and failure model: docs/chain.md. Modules: `etcd` (the JSON-gateway client),
`keyspace` (key layout), `mirror` (the watched keyspace), `messages` (proposals, final
records, evidence), `replica` (the node), `engine` (the protocol loop), `rounds` (the writes that decide a round,
and pruning), `timing`, `validators` (the set
and its quorum), `evidence`, `catchup` (from peers), `bundle` (genesis from the consortium
file), `access` (etcd users and key ranges), `service` (`custos chain up`), `status`.
"""

from ledger.consensus.bundle import Bundle, BundleError, check_bundle, derive_genesis, write_bundle
from ledger.consensus.engine import Engine
from ledger.consensus.etcd import EtcdClient, EtcdError, EtcdTLS
from ledger.consensus.replica import InvalidProposal, Replica
from ledger.consensus.service import Service, start_service, verify_history
from ledger.consensus.timing import Timing
from ledger.consensus.validators import quorum, validators_at

__all__ = [
    "Bundle",
    "BundleError",
    "Engine",
    "EtcdClient",
    "EtcdError",
    "EtcdTLS",
    "InvalidProposal",
    "Replica",
    "Service",
    "Timing",
    "check_bundle",
    "derive_genesis",
    "quorum",
    "start_service",
    "validators_at",
    "verify_history",
    "write_bundle",
]
