// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {JobTypes} from "./JobTypes.sol";

/// @title JobRecords
/// @notice The job ledger's storage, events, errors and read-only views.
abstract contract JobRecords {
    /// @notice Most sources one job may use (bounds the loops of open and finalise).
    uint256 public constant MAX_SOURCES = 32;
    /// @notice Most compute parties one job may name.
    uint256 public constant MAX_COMPUTE_PARTIES = 16;

    /// @notice A job's participants and per-source records, aligned with `sourceIds`.
    struct JobParties {
        uint256[] sourceIds;
        uint64[] versions;
        address[] owners;
        uint256[] prices;
        address[] computeParties;
        uint256[] weights;
        address[] attesters;
    }

    JobTypes.Job[] internal _jobs;
    mapping(uint256 jobId => JobParties) internal _parties;
    mapping(uint256 jobId => mapping(address account => uint8)) internal _role;
    mapping(uint256 jobId => mapping(uint256 sourceId => bool)) internal _consented;
    mapping(uint256 jobId => mapping(address signer => bool)) internal _attested;
    mapping(uint256 jobId => JobTypes.Terms) internal _terms;
    mapping(uint256 jobId => uint64) internal _disputedAt;
    /// @dev keccak256(abi.encode(uint64[] epsilonsSpent, uint64 delta)) of a committed DP job, zero otherwise.
    mapping(uint256 jobId => bytes32) internal _privacyHash;

    /// @notice A requester opened a job and its budget was escrowed.
    event JobOpened(
        uint256 indexed jobId,
        address indexed requester,
        uint8 kind,
        uint256[] sourceIds,
        uint64[] versions,
        bytes32 paramsHash,
        bytes32 inputsHash,
        address[] computeParties,
        uint256 budget,
        uint64 deadline,
        uint16 feeBps,
        uint64 challengeWindow,
        uint64 attestationWindow,
        uint64 resolutionWindow
    );
    /// @notice A source consented to the job, explicitly or by its policy (`automatic`).
    event ConsentGiven(uint256 indexed jobId, uint256 indexed sourceId, address indexed owner, bool automatic);
    /// @notice Every source consented: the job is Ready.
    event JobReady(uint256 indexed jobId);
    /// @notice A compute party committed the result.
    event ResultCommitted(
        uint256 indexed jobId,
        address indexed committer,
        bytes32 resultHash,
        bytes32 transcriptRoot,
        bytes32 contributionHash,
        uint256[] weights,
        bytes32 utilityTableHash
    );
    /// @notice An attester's signature was verified and recorded.
    event AttestationRecorded(uint256 indexed jobId, address indexed signer, address submitter);
    /// @notice A participant disputed the result; the job is frozen.
    event JobDisputed(uint256 indexed jobId, address indexed disputer, bytes32 evidenceHash);
    /// @notice The attestation window passed with signatures missing; a participant sent the job to resolution.
    event JobEscalated(uint256 indexed jobId, address indexed by, uint256 attestations, uint256 needed);
    /// @notice Governance did not resolve in time; the default (a priced refund) was applied.
    event DisputeDefaulted(uint256 indexed jobId, address indexed by);
    /// @notice Governance resolved a dispute.
    event DisputeResolved(uint256 indexed jobId, bool released);
    /// @notice The job is final and its escrow was split by the payout rule.
    event JobFinalized(uint256 indexed jobId, uint256 escrow);
    /// @notice The requester cancelled the job after its deadline; escrow refunded.
    event JobCancelled(uint256 indexed jobId, uint256 refund);
    /// @notice A participant aborted the job before commit; escrow refunded (after Ready: prices paid first).
    event JobAborted(uint256 indexed jobId, address indexed by, bytes32 reason);
    /// @notice Governance changed the challenge window for jobs opened from now on.
    event ChallengeWindowChanged(uint64 oldWindow, uint64 newWindow);
    /// @notice Governance changed the attestation window for jobs opened from now on.
    event AttestationWindowChanged(uint64 oldWindow, uint64 newWindow);
    /// @notice Governance changed the resolution window for jobs opened from now on.
    event ResolutionWindowChanged(uint64 oldWindow, uint64 newWindow);

    /// @notice No job has this id.
    error JobLedgerUnknownJob(uint256 jobId);
    /// @notice The job is not in the state this call needs.
    error JobLedgerWrongStatus(uint256 jobId, JobTypes.Status status);
    /// @notice The deadline passed (or, when opening, is not in the future).
    error JobLedgerDeadlinePassed(uint256 jobId, uint64 deadline);
    /// @notice The deadline has not passed yet.
    error JobLedgerDeadlineNotReached(uint256 jobId, uint64 deadline);
    /// @notice No sources, or more than MAX_SOURCES.
    error JobLedgerInvalidSources();
    /// @notice A source appears twice.
    error JobLedgerDuplicateSource(uint256 sourceId);
    /// @notice The source is retired, or does not allow this kind or requester.
    error JobLedgerSourceUnavailable(uint256 sourceId, address requester, uint8 kind);
    /// @notice No compute parties, or more than MAX_COMPUTE_PARTIES.
    error JobLedgerInvalidComputeParties();
    /// @notice A compute party appears twice.
    error JobLedgerDuplicateComputeParty(address party);
    /// @notice The budget is zero or below the sum of the source prices.
    error JobLedgerInvalidBudget(uint256 budget, uint256 priceSum);
    /// @notice The source is not one of the job's.
    error JobLedgerSourceNotInJob(uint256 jobId, uint256 sourceId);
    /// @notice The caller does not own the source.
    error JobLedgerNotSourceOwner(uint256 jobId, uint256 sourceId, address caller);
    /// @notice The source already consented.
    error JobLedgerAlreadyConsented(uint256 jobId, uint256 sourceId);
    /// @notice The caller is not a compute party of the job.
    error JobLedgerNotComputeParty(uint256 jobId, address caller);
    /// @notice Weights misaligned with the sources, summing to zero, or overflowing.
    error JobLedgerInvalidWeights(uint256 jobId);
    /// @notice The signer is neither a source owner nor a compute party of the job.
    error JobLedgerNotAttester(uint256 jobId, address signer);
    /// @notice The signer already attested this job.
    error JobLedgerAlreadyAttested(uint256 jobId, address signer);
    /// @notice Not every attester signed yet.
    error JobLedgerMissingAttestations(uint256 jobId, uint256 have, uint256 needed);
    /// @notice The challenge window is still open.
    error JobLedgerChallengeWindowOpen(uint256 jobId, uint256 endsAt);
    /// @notice The challenge window is closed.
    error JobLedgerChallengeWindowClosed(uint256 jobId, uint256 endsAt);
    /// @notice The caller is not a participant of the job.
    error JobLedgerNotParticipant(uint256 jobId, address caller);
    /// @notice The sum of the sources' current prices exceeds the requester's maximum.
    error JobLedgerPriceAboveMax(uint256 priceSum, uint256 maxTotalPrice);
    /// @notice A window setting outside its documented range.
    error JobLedgerWindowOutOfRange(uint64 window, uint64 min, uint64 max);
    /// @notice The attestation window has not passed yet.
    error JobLedgerAttestationWindowOpen(uint256 jobId, uint256 endsAt);
    /// @notice Every attester signed: nothing to escalate.
    error JobLedgerNothingMissing(uint256 jobId);
    /// @notice The resolution window has not passed yet.
    error JobLedgerResolutionWindowOpen(uint256 jobId, uint256 endsAt);
    /// @notice The resolution window passed: only the default applies now.
    error JobLedgerResolutionWindowClosed(uint256 jobId, uint256 endsAt);

    /// @notice A job's scalar record.
    /// @param jobId The job.
    function job(uint256 jobId) external view returns (JobTypes.Job memory) {
        return _job(jobId);
    }

    /// @notice The terms fixed at opening (fee, windows) and when the job was disputed or escalated (0: never).
    /// @param jobId The job.
    function jobTerms(uint256 jobId) external view returns (JobTypes.Terms memory terms, uint64 disputedAt) {
        _job(jobId);
        return (_terms[jobId], _disputedAt[jobId]);
    }

    /// @notice A job's sources, the versions recorded at opening, their owners and prices.
    /// @param jobId The job.
    function jobSources(uint256 jobId)
        external
        view
        returns (uint256[] memory sourceIds, uint64[] memory versions, address[] memory owners, uint256[] memory prices)
    {
        _job(jobId);
        JobParties storage p = _parties[jobId];
        return (p.sourceIds, p.versions, p.owners, p.prices);
    }

    /// @notice A job's compute parties, committed weights and attesters.
    /// @param jobId The job.
    function jobParties(uint256 jobId)
        external
        view
        returns (address[] memory computeParties, uint256[] memory weights, address[] memory attesters)
    {
        _job(jobId);
        JobParties storage p = _parties[jobId];
        return (p.computeParties, p.weights, p.attesters);
    }

    /// @notice How many jobs were ever opened.
    function jobCount() external view returns (uint256) {
        return _jobs.length;
    }

    /// @notice Whether `account` is a participant (requester, source owner, compute party) of the job.
    function isParticipant(uint256 jobId, address account) external view returns (bool) {
        return _role[jobId][account] != 0;
    }

    /// @notice Whether the source consented to the job.
    function hasConsented(uint256 jobId, uint256 sourceId) external view returns (bool) {
        return _consented[jobId][sourceId];
    }

    /// @notice Whether the signer's attestation of the job is recorded.
    function hasAttested(uint256 jobId, address signer) external view returns (bool) {
        return _attested[jobId][signer];
    }

    function _job(uint256 jobId) internal view returns (JobTypes.Job storage) {
        if (jobId >= _jobs.length) revert JobLedgerUnknownJob(jobId);
        return _jobs[jobId];
    }

    function _requireStatus(uint256 jobId, JobTypes.Job storage job_, JobTypes.Status status) internal view {
        if (job_.status != status) revert JobLedgerWrongStatus(jobId, job_.status);
    }

    function _requireUncommitted(uint256 jobId, JobTypes.Job storage job_) internal view {
        if (job_.status != JobTypes.Status.Open && job_.status != JobTypes.Status.Ready) {
            revert JobLedgerWrongStatus(jobId, job_.status);
        }
    }

    function _sourceIndex(uint256 jobId, uint256 sourceId) internal view returns (uint256) {
        uint256[] storage ids = _parties[jobId].sourceIds;
        for (uint256 i = 0; i < ids.length; ++i) {
            if (ids[i] == sourceId) return i;
        }
        revert JobLedgerSourceNotInJob(jobId, sourceId);
    }

    function _checkWeights(uint256 jobId, uint256[] calldata weights) internal view {
        if (weights.length != _parties[jobId].sourceIds.length) revert JobLedgerInvalidWeights(jobId);
        uint256 sum = 0;
        for (uint256 i = 0; i < weights.length; ++i) {
            // Reject sums that would overflow at finalisation and lock the escrow.
            if (weights[i] > type(uint256).max - sum) revert JobLedgerInvalidWeights(jobId);
            sum += weights[i];
        }
        if (sum == 0) revert JobLedgerInvalidWeights(jobId);
    }

    function _addRole(uint256 jobId, address account, uint8 bit) internal {
        uint8 old = _role[jobId][account];
        if (old & (JobTypes.AS_OWNER | JobTypes.AS_COMPUTE) == 0) _parties[jobId].attesters.push(account);
        _role[jobId][account] = old | bit;
    }
}
