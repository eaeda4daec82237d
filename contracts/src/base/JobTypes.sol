// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title JobTypes
/// @notice The job record and its lifecycle states (docs/protocol.md).
library JobTypes {
    /// @notice Lifecycle: Open → Ready → Committed → Finalized; Committed → Disputed (a dispute
    /// inside the challenge window, or an escalation once the attestation window passed with
    /// signatures missing) → Finalized | Refunded (governance, or the default once the resolution
    /// window passed); Open/Ready → Cancelled (a participant, after the deadline) | Aborted (a participant).
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

    /// @notice The terms fixed when the job opened; later governance changes never touch them.
    /// @dev Packed into one slot: every window is at most 30 days, the fee at most 3000 bps.
    struct Terms {
        uint16 feeBps;
        uint64 challengeWindow;
        uint64 attestationWindow;
        uint64 resolutionWindow;
    }

    /// @notice A DP job's request: micro-ε per source (aligned with its sources) and atto-δ (PrivacyBudget).
    struct DpRequest {
        uint64[] epsilons;
        uint64 delta;
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
