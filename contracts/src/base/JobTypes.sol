// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title JobTypes
/// @notice The job record and its lifecycle states (docs/protocol.md).
library JobTypes {
    /// @notice Lifecycle: Open → Ready → Committed → Finalized; Disputed → Finalized | Refunded;
    /// Open/Ready → Cancelled (requester, after the deadline) | Aborted (participant).
    enum Status {
        Open,
        Ready,
        Committed,
        Disputed,
        Finalized,
        Refunded,
        Cancelled,
        Aborted
    }

    /// @notice A job as stored; arrays live beside it (sources, versions, parties, weights).
    struct Job {
        address requester;
        uint8 kind;
        Status status;
        uint64 deadline;
        uint64 committedAt;
        uint32 consents;
        uint32 attestations;
        uint256 budget;
        bytes32 paramsHash;
        bytes32 inputsHash;
        bytes32 resultHash;
        bytes32 transcriptRoot;
        bytes32 contributionHash;
        bytes32 utilityTableHash;
    }

    /// @notice An EIP-2612 permit for the budget.
    struct Permit {
        uint256 deadline;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice Role bits of an account within one job.
    uint8 internal constant AS_REQUESTER = 1;
    uint8 internal constant AS_OWNER = 2;
    uint8 internal constant AS_COMPUTE = 4;
}
