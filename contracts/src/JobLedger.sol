// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {Governed} from "./base/Governed.sol";
import {AttestationVerifier} from "./base/AttestationVerifier.sol";
import {JobTypes} from "./base/JobTypes.sol";
import {JobLiveness} from "./base/JobLiveness.sol";
import {JobWindows} from "./base/JobWindows.sol";
import {PrivacyBudget} from "./PrivacyBudget.sol";
import {IDataRegistry} from "./interfaces/IDataRegistry.sol";
import {ISettlement} from "./interfaces/ISettlement.sol";

/// @title JobLedger
/// @notice Jobs: open (escrowing the budget), consent, commit, EIP-712 attestations, dispute or
/// escalation, resolution, finalise (settling the escrow), cancel and abort (refunding it).
/// @dev Every state-changing function requires an active member; governance resolves disputes.
/// Storage, events, errors and views: JobRecords; window settings: JobWindows; dispute,
/// escalation, resolution, cancel and abort: JobLiveness; this contract opens, commits, attests,
/// finalises and moves the escrow (Settlement) and the privacy budget (PrivacyBudget).
contract JobLedger is Governed, AttestationVerifier, JobLiveness {
    IDataRegistry private immutable _registry;
    ISettlement private immutable _settlement;
    PrivacyBudget private immutable _privacy;

    /// @param consortium_ The Consortium contract.
    /// @param registry_ The DataRegistry contract.
    /// @param settlement_ The Settlement contract.
    /// @param challengeWindow_ Seconds after a commit during which participants may dispute; at most
    /// MAX_CHALLENGE_WINDOW (below MIN_CHALLENGE_WINDOW only a bootstrap may go, for clocks that cannot warp).
    constructor(address consortium_, address registry_, address settlement_, uint64 challengeWindow_)
        Governed(consortium_)
        JobWindows(challengeWindow_)
    {
        if (registry_ == address(0) || settlement_ == address(0)) revert GovernedZeroAddress();
        _registry = IDataRegistry(registry_);
        _settlement = ISettlement(settlement_);
        _privacy = new PrivacyBudget(consortium_, registry_);
    }

    /// @notice Opens a job that releases an exact result (every source must allow exact releases) and
    /// escrows `budget` (approved to Settlement beforehand); fixes its terms.
    /// @param kind The job kind (0 PSI, 1 SECURE_STATS, 2 SECURE_AGGREGATION, 3 FEDAVG, 4 HETERO_LR, ...).
    /// @param sourceIds The data sources, distinct; each must be active and allow the kind and the caller.
    /// @param paramsHash Hash of the job's parameters.
    /// @param computeParties Distinct COMPUTE members running the protocol.
    /// @param budget Escrowed token units; at least the sum of the sources' prices and not zero.
    /// @param maxTotalPrice The most the requester accepts for the sum of the sources' current prices.
    /// @param deadline Unix seconds after which an uncommitted job may be cancelled.
    /// @return jobId The new job's id (index from 0).
    function openJob(
        uint8 kind,
        uint256[] calldata sourceIds,
        bytes32 paramsHash,
        address[] calldata computeParties,
        uint256 budget,
        uint256 maxTotalPrice,
        uint64 deadline
    ) external returns (uint256 jobId) {
        return _openJob(
            kind, sourceIds, paramsHash, computeParties, budget, maxTotalPrice, deadline, new uint64[](0), 0
        );
    }

    /// @notice Like `openJob`, for a differentially private job: reserves `dp.epsilons[i]` of source
    /// i's ε budget and `dp.delta` of every source's δ budget (PrivacyBudget), or reverts.
    /// @param dp Micro-ε per source (aligned with `sourceIds`, each above zero) and atto-δ.
    function openDpJob(
        uint8 kind,
        uint256[] calldata sourceIds,
        bytes32 paramsHash,
        address[] calldata computeParties,
        uint256 budget,
        uint256 maxTotalPrice,
        uint64 deadline,
        JobTypes.DpRequest calldata dp
    ) external returns (uint256 jobId) {
        return _openJob(
            kind, sourceIds, paramsHash, computeParties, budget, maxTotalPrice, deadline, dp.epsilons, dp.delta
        );
    }

    /// @notice Like `openJob`, with an EIP-2612 permit for the budget, in one transaction.
    /// @dev A front-run permit (already used) is tolerated: the allowance then decides.
    /// @param permit The requester's permit to Settlement for `budget`.
    function openJobWithPermit(
        uint8 kind,
        uint256[] calldata sourceIds,
        bytes32 paramsHash,
        address[] calldata computeParties,
        uint256 budget,
        uint256 maxTotalPrice,
        uint64 deadline,
        JobTypes.Permit calldata permit
    ) external returns (uint256 jobId) {
        try IERC20Permit(_settlement.token())
            .permit(msg.sender, address(_settlement), budget, permit.deadline, permit.v, permit.r, permit.s) {}
            catch {}
        return
            _openJob(kind, sourceIds, paramsHash, computeParties, budget, maxTotalPrice, deadline, new uint64[](0), 0);
    }

    /// @notice The owner of `sourceId` consents to its use by the job; it must hold PROVIDER now.
    /// @param jobId The job.
    /// @param sourceId One of the job's sources, owned by the caller.
    function consent(uint256 jobId, uint256 sourceId) external {
        _requireRoles(msg.sender, PROVIDER);
        JobTypes.Job storage rec = _job(jobId);
        _requireStatus(jobId, rec, JobTypes.Status.Open);
        if (block.timestamp > rec.deadline) revert JobLedgerDeadlinePassed(jobId, rec.deadline);
        uint256 index = _sourceIndex(jobId, sourceId);
        if (_parties[jobId].owners[index] != msg.sender) revert JobLedgerNotSourceOwner(jobId, sourceId, msg.sender);
        _consent(jobId, rec, sourceId, msg.sender, false);
    }

    /// @notice A compute party commits the exact result of a job opened by `openJob`, the transcript
    /// root and the contribution table; it must hold COMPUTE now.
    /// @param jobId A Ready job, before its deadline.
    /// @param resultHash Hash of the result.
    /// @param transcriptRoot Merkle root of the protocol transcript.
    /// @param weights Contribution weight per source, aligned with the job's sources; sum > 0.
    /// @param utilityTableHash Hash of the utility table the weights were computed from.
    function commitResult(
        uint256 jobId,
        bytes32 resultHash,
        bytes32 transcriptRoot,
        uint256[] calldata weights,
        bytes32 utilityTableHash
    ) external {
        _commit(jobId, resultHash, transcriptRoot, weights, utilityTableHash, new uint64[](0));
    }

    /// @notice Like `commitResult`, for a job opened by `openDpJob`: also reports the ε spent per
    /// source, each at most its reservation; the attestation digest covers it.
    /// @param epsilonsSpent Micro-ε spent per source, aligned with the job's sources.
    function commitDpResult(
        uint256 jobId,
        bytes32 resultHash,
        bytes32 transcriptRoot,
        uint256[] calldata weights,
        bytes32 utilityTableHash,
        uint64[] calldata epsilonsSpent
    ) external {
        _commit(jobId, resultHash, transcriptRoot, weights, utilityTableHash, epsilonsSpent);
    }

    /// @notice Records an attester's EIP-712 signature over the committed job; any member may submit it.
    /// @param jobId A Committed job.
    /// @param signer A source owner or compute party of the job that has not attested yet.
    /// @param signature 65 bytes (r, s, v), low s.
    function attest(uint256 jobId, address signer, bytes calldata signature) external onlyMember {
        JobTypes.Job storage rec = _job(jobId);
        _requireStatus(jobId, rec, JobTypes.Status.Committed);
        if (_role[jobId][signer] & (JobTypes.AS_OWNER | JobTypes.AS_COMPUTE) == 0) {
            revert JobLedgerNotAttester(jobId, signer);
        }
        // "Used" is keyed by signer, never by signature bytes: a malleated copy recovers the same signer.
        if (_attested[jobId][signer]) revert JobLedgerAlreadyAttested(jobId, signer);
        _verify(attestationDigest(jobId), signer, signature);
        _attested[jobId][signer] = true;
        ++rec.attestations;
        emit AttestationRecorded(jobId, signer, msg.sender);
    }

    /// @notice Finalises a job every attester signed, once its challenge window passed; settles the escrow.
    /// @param jobId A Committed job.
    function finalize(uint256 jobId) external onlyMember {
        JobTypes.Job storage rec = _job(jobId);
        _requireStatus(jobId, rec, JobTypes.Status.Committed);
        uint256 needed = _parties[jobId].attesters.length;
        if (rec.attestations < needed) revert JobLedgerMissingAttestations(jobId, rec.attestations, needed);
        uint256 endsAt = uint256(rec.committedAt) + _terms[jobId].challengeWindow;
        if (block.timestamp < endsAt) revert JobLedgerChallengeWindowOpen(jobId, endsAt);
        _release(jobId, rec);
    }

    /// @notice The EIP-712 digest an attester signs for the job's committed result.
    /// @param jobId The job.
    function attestationDigest(uint256 jobId) public view returns (bytes32) {
        JobTypes.Job storage rec = _job(jobId);
        return _attestationDigest(
            jobId, rec.inputsHash, rec.resultHash, rec.transcriptRoot, rec.contributionHash, _privacyHash[jobId]
        );
    }

    /// @notice The PrivacyBudget this ledger created: sources' DP budgets and jobs' reservations.
    function privacyBudget() external view returns (address) {
        return address(_privacy);
    }

    /// @notice The DataRegistry and Settlement this ledger uses.
    function wiring() external view returns (address registry, address settlement) {
        return (address(_registry), address(_settlement));
    }

    /// @dev Every open: records the job, escrows `budget`, then reserves `epsilons` and `delta` of
    /// the sources' privacy budgets (an exact job: no epsilons, zero delta; its sources must allow it).
    function _openJob(
        uint8 kind,
        uint256[] calldata sourceIds,
        bytes32 paramsHash,
        address[] calldata computeParties,
        uint256 budget,
        uint256 maxTotalPrice,
        uint64 deadline,
        uint64[] memory epsilons,
        uint64 delta
    ) private returns (uint256 jobId) {
        _requireRoles(msg.sender, REQUESTER);
        if (deadline <= block.timestamp) revert JobLedgerDeadlinePassed(type(uint256).max, deadline);
        jobId = _jobs.length;
        // A block, so that `rec` and `priceSum` leave the stack before the two calls below.
        {
            JobTypes.Job storage rec = _jobs.push();
            rec.requester = msg.sender;
            rec.kind = kind;
            rec.deadline = deadline;
            rec.budget = budget;
            rec.paramsHash = paramsHash;
            _role[jobId][msg.sender] = JobTypes.AS_REQUESTER;
            uint256 priceSum = _recordSources(jobId, rec, sourceIds);
            if (priceSum > maxTotalPrice) revert JobLedgerPriceAboveMax(priceSum, maxTotalPrice);
            _recordComputeParties(jobId, computeParties);
            if (budget == 0 || budget < priceSum) revert JobLedgerInvalidBudget(budget, priceSum);
            _emitOpened(jobId);
            _autoConsent(jobId, rec, sourceIds);
        }
        _settlement.deposit(jobId, msg.sender, budget);
        _privacy.open(jobId, kind, sourceIds, epsilons, delta);
    }

    /// @dev Every commit: records the result, then reports the ε spent (an exact job: none) and
    /// keeps its privacy hash for the attestation digest.
    function _commit(
        uint256 jobId,
        bytes32 resultHash,
        bytes32 transcriptRoot,
        uint256[] calldata weights,
        bytes32 utilityTableHash,
        uint64[] memory epsilonsSpent
    ) private {
        _requireRoles(msg.sender, COMPUTE);
        JobTypes.Job storage rec = _job(jobId);
        _requireStatus(jobId, rec, JobTypes.Status.Ready);
        if (_role[jobId][msg.sender] & JobTypes.AS_COMPUTE == 0) revert JobLedgerNotComputeParty(jobId, msg.sender);
        if (block.timestamp > rec.deadline) revert JobLedgerDeadlinePassed(jobId, rec.deadline);
        _checkWeights(jobId, weights);
        bytes32 contributionHash = keccak256(abi.encode(weights, utilityTableHash));
        rec.status = JobTypes.Status.Committed;
        rec.committedAt = uint64(block.timestamp);
        rec.resultHash = resultHash;
        rec.transcriptRoot = transcriptRoot;
        rec.contributionHash = contributionHash;
        rec.utilityTableHash = utilityTableHash;
        _parties[jobId].weights = weights;
        emit ResultCommitted(jobId, msg.sender, resultHash, transcriptRoot, contributionHash, weights, utilityTableHash);
        _privacyHash[jobId] = _privacy.spend(jobId, epsilonsSpent);
    }

    /// @dev Fixes the job's terms from the current settings and records them in JobOpened.
    function _emitOpened(uint256 jobId) private {
        _terms[jobId] = _currentTerms(_settlement.feeBps());
        JobTypes.Job storage rec = _jobs[jobId];
        JobParties storage p = _parties[jobId];
        JobTypes.Terms storage terms = _terms[jobId];
        emit JobOpened(
            jobId,
            rec.requester,
            rec.kind,
            p.sourceIds,
            p.versions,
            rec.paramsHash,
            rec.inputsHash,
            p.computeParties,
            rec.budget,
            rec.deadline,
            terms.feeBps,
            terms.challengeWindow,
            terms.attestationWindow,
            terms.resolutionWindow
        );
    }

    function _autoConsent(uint256 jobId, JobTypes.Job storage rec, uint256[] calldata sourceIds) private {
        for (uint256 i = 0; i < sourceIds.length; ++i) {
            if (_registry.autoConsents(sourceIds[i], msg.sender, rec.kind)) {
                _consent(jobId, rec, sourceIds[i], _parties[jobId].owners[i], true);
            }
        }
    }

    function _recordSources(uint256 jobId, JobTypes.Job storage rec, uint256[] calldata sourceIds)
        private
        returns (uint256 priceSum)
    {
        uint256 n = sourceIds.length;
        if (n == 0 || n > MAX_SOURCES) revert JobLedgerInvalidSources();
        JobParties storage parties = _parties[jobId];
        bytes32[] memory commitments = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            for (uint256 k = 0; k < i; ++k) {
                if (sourceIds[k] == sourceIds[i]) revert JobLedgerDuplicateSource(sourceIds[i]);
            }
            if (!_registry.isUsableBy(sourceIds[i], msg.sender, rec.kind)) {
                revert JobLedgerSourceUnavailable(sourceIds[i], msg.sender, rec.kind);
            }
            IDataRegistry.Source memory s = _registry.source(sourceIds[i]);
            parties.sourceIds.push(sourceIds[i]);
            parties.versions.push(s.version);
            parties.owners.push(s.owner);
            parties.prices.push(s.pricePerUse);
            commitments[i] = s.commitment;
            priceSum += s.pricePerUse;
            _addRole(jobId, s.owner, JobTypes.AS_OWNER);
        }
        rec.inputsHash = keccak256(abi.encode(sourceIds, parties.versions, commitments));
    }

    function _recordComputeParties(uint256 jobId, address[] calldata computeParties) private {
        uint256 m = computeParties.length;
        if (m == 0 || m > MAX_COMPUTE_PARTIES) revert JobLedgerInvalidComputeParties();
        for (uint256 j = 0; j < m; ++j) {
            address party = computeParties[j];
            _requireRoles(party, COMPUTE);
            if (_role[jobId][party] & JobTypes.AS_COMPUTE != 0) revert JobLedgerDuplicateComputeParty(party);
            _parties[jobId].computeParties.push(party);
            _addRole(jobId, party, JobTypes.AS_COMPUTE);
        }
    }

    function _consent(uint256 jobId, JobTypes.Job storage rec, uint256 sourceId, address owner, bool automatic)
        private
    {
        if (_consented[jobId][sourceId]) revert JobLedgerAlreadyConsented(jobId, sourceId);
        _consented[jobId][sourceId] = true;
        uint32 consents = ++rec.consents;
        emit ConsentGiven(jobId, sourceId, owner, automatic);
        if (consents == _parties[jobId].sourceIds.length) {
            rec.status = JobTypes.Status.Ready;
            emit JobReady(jobId);
        }
    }

    function _release(uint256 jobId, JobTypes.Job storage rec) internal override {
        rec.status = JobTypes.Status.Finalized;
        emit JobFinalized(jobId, rec.budget);
        JobParties storage p = _parties[jobId];
        _settlement.release(jobId, p.owners, p.prices, p.weights, p.computeParties, _terms[jobId].feeBps);
        _privacy.settle(jobId);
    }

    function _refund(uint256 jobId, JobTypes.Job storage rec, bool priced, address unpaid) internal override {
        JobParties storage p = _parties[jobId];
        uint256 n = priced ? p.owners.length : 0;
        address[] memory owners = new address[](n);
        uint256[] memory prices = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            owners[i] = p.owners[i];
            prices[i] = owners[i] == unpaid ? 0 : p.prices[i];
        }
        _settlement.refund(jobId, rec.requester, owners, prices);
        _privacy.release(jobId);
    }
}
