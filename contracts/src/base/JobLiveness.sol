// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {JobTypes} from "./JobTypes.sol";
import {JobWindows} from "./JobWindows.sol";

/// @title JobLiveness
/// @notice Every way a job ends other than finalisation: a dispute or an escalation freezes a
/// committed job, governance resolves it or, once the resolution window passed, the default
/// applies; cancel and abort end an uncommitted one. Together they make every job reach a
/// terminal state in bounded time whoever goes silent (docs/protocol.md, "Liveness").
/// @dev Every bound is the job's own (`_terms`, fixed at opening), never the current setting.
/// The escrow moves through `_release` and `_refund`, which the ledger implements.
abstract contract JobLiveness is JobWindows {
    /// @notice A participant disputes the committed result during the job's challenge window; the job freezes.
    /// @param jobId A Committed job.
    /// @param evidenceHash Hash of the evidence, kept off chain.
    function dispute(uint256 jobId, bytes32 evidenceHash) external onlyMember {
        JobTypes.Job storage rec = _job(jobId);
        _requireStatus(jobId, rec, JobTypes.Status.Committed);
        _requireParticipant(jobId);
        uint256 endsAt = uint256(rec.committedAt) + _terms[jobId].challengeWindow;
        if (block.timestamp >= endsAt) revert JobLedgerChallengeWindowClosed(jobId, endsAt);
        _freeze(jobId, rec);
        emit JobDisputed(jobId, msg.sender, evidenceHash);
    }

    /// @notice A participant sends a job whose attestation window passed with signatures missing to
    /// resolution (governance decides, or the default applies once the resolution window passed).
    /// @param jobId A Committed job.
    function escalate(uint256 jobId) external onlyMember {
        JobTypes.Job storage rec = _job(jobId);
        _requireStatus(jobId, rec, JobTypes.Status.Committed);
        _requireParticipant(jobId);
        uint256 needed = _parties[jobId].attesters.length;
        if (rec.attestations >= needed) revert JobLedgerNothingMissing(jobId);
        uint256 endsAt = uint256(rec.committedAt) + _terms[jobId].attestationWindow;
        if (block.timestamp < endsAt) revert JobLedgerAttestationWindowOpen(jobId, endsAt);
        _freeze(jobId, rec);
        emit JobEscalated(jobId, msg.sender, rec.attestations, needed);
    }

    /// @notice Resolves a dispute (governance only) inside the job's resolution window: release pays
    /// out as on finalise, otherwise the whole escrow is refunded to the requester.
    /// @param jobId A Disputed job.
    /// @param releaseEscrow True to settle by the payout rule, false to refund the requester.
    function resolveDispute(uint256 jobId, bool releaseEscrow) external onlyGovernance {
        JobTypes.Job storage rec = _job(jobId);
        _requireStatus(jobId, rec, JobTypes.Status.Disputed);
        uint256 endsAt = _resolutionEnd(jobId);
        if (block.timestamp >= endsAt) revert JobLedgerResolutionWindowClosed(jobId, endsAt);
        emit DisputeResolved(jobId, releaseEscrow);
        if (releaseEscrow) {
            _release(jobId, rec);
        } else {
            rec.status = JobTypes.Status.Refunded;
            _refund(jobId, rec, false, address(0));
        }
    }

    /// @notice Applies the default to a dispute governance left unresolved past the resolution
    /// window: each source owner gets its price, the requester the rest. Any member may trigger it.
    /// @param jobId A Disputed job.
    function settleUnresolved(uint256 jobId) external onlyMember {
        JobTypes.Job storage rec = _job(jobId);
        _requireStatus(jobId, rec, JobTypes.Status.Disputed);
        uint256 endsAt = _resolutionEnd(jobId);
        if (block.timestamp < endsAt) revert JobLedgerResolutionWindowOpen(jobId, endsAt);
        rec.status = JobTypes.Status.Refunded;
        emit DisputeDefaulted(jobId, msg.sender);
        _refund(jobId, rec, true, address(0));
    }

    /// @notice A participant cancels an uncommitted job after its deadline. Open: the escrow is refunded;
    /// Ready: each source owner gets its price and the requester the rest.
    /// @param jobId An Open or Ready job past its deadline.
    function cancel(uint256 jobId) external onlyMember {
        JobTypes.Job storage rec = _job(jobId);
        _requireUncommitted(jobId, rec);
        _requireParticipant(jobId);
        if (block.timestamp <= rec.deadline) revert JobLedgerDeadlineNotReached(jobId, rec.deadline);
        bool priced = rec.status == JobTypes.Status.Ready;
        rec.status = JobTypes.Status.Cancelled;
        emit JobCancelled(jobId, rec.budget);
        _refund(jobId, rec, priced, address(0));
    }

    /// @notice A participant aborts an uncommitted job. Open: the escrow is refunded. Ready: each source
    /// owner except the aborter gets its price and the requester the rest, so no abort returns the
    /// requester more than its own abort would.
    /// @param jobId An Open or Ready job.
    /// @param reason Why, as a hash or short code.
    function abort(uint256 jobId, bytes32 reason) external onlyMember {
        JobTypes.Job storage rec = _job(jobId);
        _requireUncommitted(jobId, rec);
        _requireParticipant(jobId);
        bool priced = rec.status == JobTypes.Status.Ready;
        rec.status = JobTypes.Status.Aborted;
        emit JobAborted(jobId, msg.sender, reason);
        _refund(jobId, rec, priced, msg.sender);
    }

    /// @dev Marks the job Finalized and splits its escrow by the payout rule.
    function _release(uint256 jobId, JobTypes.Job storage rec) internal virtual;

    /// @dev Refunds the escrow to the requester; `priced`: each source owner except `unpaid` is
    /// credited its recorded price first. The caller has set the job's terminal status.
    function _refund(uint256 jobId, JobTypes.Job storage rec, bool priced, address unpaid) internal virtual;

    function _requireParticipant(uint256 jobId) private view {
        if (_role[jobId][msg.sender] == 0) revert JobLedgerNotParticipant(jobId, msg.sender);
    }

    function _freeze(uint256 jobId, JobTypes.Job storage rec) private {
        rec.status = JobTypes.Status.Disputed;
        _disputedAt[jobId] = uint64(block.timestamp);
    }

    function _resolutionEnd(uint256 jobId) private view returns (uint256) {
        return uint256(_disputedAt[jobId]) + _terms[jobId].resolutionWindow;
    }
}
