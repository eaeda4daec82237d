// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title IJobLedger
/// @notice What AuditAnchor reads from JobLedger: who takes part in a job.
interface IJobLedger {
    /// @notice Whether `account` is a participant of the job: its requester, one of its sources'
    /// owners or one of its compute parties (its attesters are the owners and compute parties).
    /// @param jobId The job (false for an unknown job).
    /// @param account The account asked about.
    function isParticipant(uint256 jobId, address account) external view returns (bool);
}
