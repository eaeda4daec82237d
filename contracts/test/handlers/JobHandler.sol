// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {JobLedger} from "../../src/JobLedger.sol";
import {JobLiveness} from "../../src/base/JobLiveness.sol";
import {JobTypes} from "../../src/base/JobTypes.sol";
import {DisruptionHandler} from "./DisruptionHandler.sol";
import {HandlerBase} from "./HandlerBase.sol";
import {PayoutOracle} from "./PayoutOracle.sol";

/// @notice Drives random job lifecycles with adversaries: members acting in and out of role
/// (removed or stripped of a role while a job's participant), attesters withholding (time passes
/// while nobody signs), and every ending checked against the payout rule (PayoutOracle).
/// DisruptionHandler adds what happens around the jobs: governance mid-run, stray tokens, outsiders.
contract JobHandler is DisruptionHandler {
    constructor(
        Deployed memory d,
        address[] memory members_,
        uint8[] memory roles_,
        uint256[] memory keys_,
        address[] memory outsiders_,
        uint256[3] memory sources_
    ) HandlerBase(d, members_, roles_, keys_, outsiders_, sources_) {}

    // ---- members in their roles ----

    /// @dev `ready`: every source consents at once; `committed`: and compute party 0 commits.
    /// (Booleans, not a small enum: the fuzzer favours 0 and type(uint8).max for integers.)
    function openJob(
        uint256 budgetSeed,
        uint8 mask,
        bool twoCompute,
        bool byProvider2,
        bool lowMax,
        bool ready,
        bool committed
    ) external {
        address requester = byProvider2 ? members[2] : members[0];
        (uint256[] memory ids, uint256 priceSum) = _pick(mask);
        uint256 budget = 60 + (budgetSeed % 1_000_000);
        // Single pranks: a startPrank left open by a reverting openJob would outlive the call.
        vm.prank(requester);
        token.approve(address(settlement), budget);
        vm.prank(requester);
        ledger.openJob(
            3, ids, keccak256("p"), _parties(twoCompute), budget, lowMax ? priceSum - 1 : priceSum,
            uint64(block.timestamp + 3 days)
        );
        // Every source used must have an owner who is a PROVIDER member now; prices within the maximum.
        for (uint256 i = 0; i < ids.length; ++i) {
            if (!consortium.hasRoles(registry.source(ids[i]).owner, PROVIDER)) ++ghostRoleViolations;
        }
        if (lowMax) ++ghostRoleViolations;
        if (ready || committed) _consentAll(ledger.jobCount() - 1);
        if (committed) _commit(ledger.jobCount() - 1, budgetSeed);
    }

    function _pick(uint8 mask) internal view returns (uint256[] memory ids, uint256 priceSum) {
        uint256 n = 0;
        uint256[] memory picked = new uint256[](3);
        for (uint256 i = 0; i < 3; ++i) {
            if (mask & (1 << i) != 0) picked[n++] = sources[i];
        }
        if (n == 0) picked[n++] = sources[0];
        ids = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            ids[i] = picked[i];
            priceSum += registry.source(ids[i]).pricePerUse;
        }
    }

    function _parties(bool twoCompute) internal view returns (address[] memory parties) {
        parties = new address[](twoCompute ? 2 : 1);
        parties[0] = members[3];
        if (twoCompute) parties[1] = members[4];
    }

    function _commit(uint256 jobId, uint256 seed) private {
        (uint256[] memory ids,,,) = ledger.jobSources(jobId);
        (address[] memory parties,,) = ledger.jobParties(jobId);
        uint256[] memory weights = new uint256[](ids.length);
        for (uint256 i = 0; i < ids.length; ++i) weights[i] = uint256(keccak256(abi.encode(seed, i))) % 1e18;
        vm.prank(parties[0]);
        ledger.commitResult(jobId, keccak256("r"), keccak256("t"), weights, keccak256("u"));
    }

    function consent(uint256 jobSeed, uint256 sourceSeed) external {
        (bool ok, uint256 jobId) = _job(jobSeed);
        if (!ok) return;
        (uint256[] memory ids,, address[] memory owners,) = ledger.jobSources(jobId);
        uint256 k = sourceSeed % ids.length;
        vm.prank(owners[k]);
        ledger.consent(jobId, ids[k]);
        if (!consortium.hasRoles(owners[k], PROVIDER)) ++ghostRoleViolations;
    }

    /// @dev `who`: 0 the first compute party, 1 the last, 2 a source owner (never a compute party),
    /// 3 compute2 (a COMPUTE member, party only of two-party jobs); `readyFirst`: consents first.
    function commit(uint256 jobSeed, uint64 w0, uint64 w1, uint64 w2, uint8 who, bool readyFirst) external {
        (bool ok, uint256 jobId) = _job(jobSeed);
        if (!ok) return;
        if (readyFirst && ledger.job(jobId).status == JobTypes.Status.Open) _consentAll(jobId);
        (uint256[] memory ids,, address[] memory owners,) = ledger.jobSources(jobId);
        uint256[] memory weights = new uint256[](ids.length);
        uint64[3] memory raw = [w0, w1, w2];
        for (uint256 i = 0; i < ids.length; ++i) weights[i] = raw[i];
        (address[] memory parties,,) = ledger.jobParties(jobId);
        who = who % 4;
        address caller = who == 2 ? owners[0] : who == 3 ? members[4] : parties[who == 0 ? 0 : parties.length - 1];
        vm.prank(caller);
        ledger.commitResult(jobId, keccak256("r"), keccak256("t"), weights, keccak256("u"));
        if (!ledger.isParticipant(jobId, caller) || !_isComputeParty(parties, caller)) ++ghostRoleViolations;
        if (!consortium.hasRoles(caller, COMPUTE)) ++ghostRoleViolations;
    }

    function attest(uint256 jobSeed, uint256 signerSeed, uint256 submitterSeed) external {
        (bool ok, uint256 jobId) = _job(jobSeed);
        if (!ok) return;
        (,, address[] memory attesters) = ledger.jobParties(jobId);
        address signer = attesters[signerSeed % attesters.length];
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(keyOf[signer], ledger.attestationDigest(jobId));
        vm.prank(members[submitterSeed % members.length]);
        ledger.attest(jobId, signer, abi.encodePacked(r, s, v));
    }

    /// @dev Moves a job up to `steps` steps along its happy path, so random runs reach
    /// finalisation often (a step: one consent, the commit, one attestation, or finalise).
    function progress(uint256 jobSeed, uint64 weightSeed, uint8 steps) external {
        (bool ok, uint256 jobId) = _job(jobSeed);
        if (!ok) return;
        for (uint256 i = 0; i <= steps % 12; ++i) {
            _step(jobId, weightSeed);
        }
    }

    function _step(uint256 jobId, uint64 weightSeed) private {
        JobTypes.Job memory job = ledger.job(jobId);
        (uint256[] memory ids,, address[] memory owners,) = ledger.jobSources(jobId);
        (address[] memory parties,, address[] memory attesters) = ledger.jobParties(jobId);
        if (job.status == JobTypes.Status.Open) {
            for (uint256 i = 0; i < ids.length; ++i) {
                if (ledger.hasConsented(jobId, ids[i])) continue;
                vm.prank(owners[i]);
                ledger.consent(jobId, ids[i]);
                return;
            }
        } else if (job.status == JobTypes.Status.Ready) {
            uint256[] memory weights = new uint256[](ids.length);
            for (uint256 i = 0; i < ids.length; ++i) weights[i] = uint256(keccak256(abi.encode(weightSeed, i))) % 1e18;
            (bool dp, uint64[] memory spent) = _dpSpend(jobId, weightSeed);
            bytes memory call = dp
                ? abi.encodeCall(JobLedger.commitDpResult, (jobId, keccak256("r"), keccak256("t"), weights, keccak256("u"), spent))
                : abi.encodeCall(JobLedger.commitResult, (jobId, keccak256("r"), keccak256("t"), weights, keccak256("u")));
            // A quarter of the time compute2 tries first; where it is no party of the job it must be refused.
            if (weightSeed % 4 == 3 && _nonPartyCommitted(parties, call)) return;
            vm.prank(parties[weightSeed % parties.length]);
            if (dp) ledger.commitDpResult(jobId, keccak256("r"), keccak256("t"), weights, keccak256("u"), spent);
            else ledger.commitResult(jobId, keccak256("r"), keccak256("t"), weights, keccak256("u"));
        } else if (job.status == JobTypes.Status.Committed) {
            for (uint256 i = 0; i < attesters.length; ++i) {
                if (ledger.hasAttested(jobId, attesters[i])) continue;
                (uint8 v, bytes32 r, bytes32 s) = vm.sign(keyOf[attesters[i]], ledger.attestationDigest(jobId));
                vm.prank(members[0]);
                ledger.attest(jobId, attesters[i], abi.encodePacked(r, s, v));
                return;
            }
            // Half the time without waiting: finalising inside the challenge window must be refused.
            (JobTypes.Terms memory terms,) = ledger.jobTerms(jobId);
            if (weightSeed % 2 == 0) vm.warp(block.timestamp + terms.challengeWindow);
            _finalize(jobId, members[weightSeed % members.length]);
        }
    }

    /// @dev compute2 (a COMPUTE member) sends the commit of a job whose parties it is not among;
    /// a success breaks the rules (and leaves the job committed, so the step ends there).
    function _nonPartyCommitted(address[] memory parties, bytes memory call) private returns (bool success) {
        if (_isComputeParty(parties, members[4])) return false;
        vm.prank(members[4]);
        (success,) = address(ledger).call(call);
        if (success) ++ghostRoleViolations;
    }

    /// @dev Time passes: usually up to 2 days, sometimes up to 20 (past attestation and resolution windows).
    function warp(uint256 secondsSeed) external {
        vm.warp(block.timestamp + (secondsSeed % 8 == 0 ? secondsSeed % 20 days : secondsSeed % 2 days));
    }

    /// @dev `signFirst`: every missing signature first; `waitFirst`: the job's challenge window
    /// passes first. Finalising must fail unless both happened (by these flags or earlier calls).
    function finalize(uint256 jobSeed, uint256 callerSeed, bool signFirst, bool waitFirst) external {
        (bool ok, uint256 jobId) = _job(jobSeed);
        if (!ok) return;
        if (ledger.job(jobId).status == JobTypes.Status.Committed) {
            if (signFirst) _signAll(jobId);
            if (waitFirst) {
                (JobTypes.Terms memory terms,) = ledger.jobTerms(jobId);
                vm.warp(block.timestamp + terms.challengeWindow);
            }
        }
        _finalize(jobId, members[callerSeed % members.length]);
    }

    function _signAll(uint256 jobId) private {
        (,, address[] memory attesters) = ledger.jobParties(jobId);
        for (uint256 i = 0; i < attesters.length; ++i) {
            if (ledger.hasAttested(jobId, attesters[i])) continue;
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(keyOf[attesters[i]], ledger.attestationDigest(jobId));
            vm.prank(members[0]);
            ledger.attest(jobId, attesters[i], abi.encodePacked(r, s, v));
        }
    }

    /// @dev Every missing consent, by each source's owner (reverts if an owner may not consent now).
    function _consentAll(uint256 jobId) internal {
        (uint256[] memory ids,, address[] memory owners,) = ledger.jobSources(jobId);
        for (uint256 i = 0; i < ids.length; ++i) {
            if (ledger.hasConsented(jobId, ids[i])) continue;
            vm.prank(owners[i]);
            ledger.consent(jobId, ids[i]);
        }
    }

    function dispute(uint256 jobSeed, uint256 callerSeed) external {
        (bool ok, uint256 jobId) = _job(jobSeed);
        if (!ok) return;
        vm.prank(members[callerSeed % members.length]);
        ledger.dispute(jobId, keccak256("evidence"));
    }

    /// @dev The escalation path must open exactly at the job's recorded bound: refused before it,
    /// accepted from it on (for a participant who is a member, while signatures are missing).
    /// `moveWindow`: governance first moves the global attestation window away from the job's and
    /// time comes to the job's bound (`atBound`) or a second short of it.
    function escalate(uint256 jobSeed, uint256 callerSeed, bool moveWindow, bool atBound) external {
        (bool ok, uint256 jobId) = _job(jobSeed);
        if (!ok) return;
        address caller = members[callerSeed % members.length];
        (JobTypes.Terms memory terms,) = ledger.jobTerms(jobId);
        if (moveWindow) _moveAttestationWindowAround(jobId, terms.attestationWindow, atBound);
        JobTypes.Job memory job = ledger.job(jobId);
        (,, address[] memory attesters) = ledger.jobParties(jobId);
        bool due = job.status == JobTypes.Status.Committed && job.attestations < attesters.length
            && block.timestamp >= uint256(job.committedAt) + terms.attestationWindow;
        bool allowed = due && consortium.isMember(caller) && ledger.isParticipant(jobId, caller);
        vm.prank(caller);
        (bool success,) = address(ledger).call(abi.encodeCall(JobLiveness.escalate, (jobId)));
        if (success != allowed) ++ghostLivenessViolations;
    }

    function resolve(uint256 jobSeed, bool releaseEscrow) external {
        (bool ok, uint256 jobId) = _job(jobSeed);
        if (!ok) return;
        PayoutOracle.Credit[] memory expected =
            releaseEscrow ? _expectSplit(jobId) : _expectRefund(jobId, false, address(0));
        vm.recordLogs();
        _govern(address(ledger), abi.encodeCall(JobLiveness.resolveDispute, (jobId, releaseEscrow)));
        ghostByGovernance[jobId] = true;
        _settle(expected);
    }

    function settleUnresolved(uint256 jobSeed, uint256 callerSeed) external {
        (bool ok, uint256 jobId) = _job(jobSeed);
        if (!ok) return;
        PayoutOracle.Credit[] memory expected = _expectRefund(jobId, true, address(0));
        vm.recordLogs();
        vm.prank(members[callerSeed % members.length]);
        ledger.settleUnresolved(jobId);
        _settle(expected);
    }

    function cancel(uint256 jobSeed, uint256 callerSeed) external {
        (bool ok, uint256 jobId) = _job(jobSeed);
        if (!ok) return;
        PayoutOracle.Credit[] memory expected =
            _expectRefund(jobId, ledger.job(jobId).status == JobTypes.Status.Ready, address(0));
        vm.recordLogs();
        vm.prank(members[callerSeed % members.length]);
        ledger.cancel(jobId);
        _settle(expected);
    }

    /// @dev `readyFirst`: every missing consent is given first, so the abort happens after Ready.
    function abort(uint256 jobSeed, uint256 callerSeed, bool readyFirst) external {
        (bool ok, uint256 jobId) = _job(jobSeed);
        if (!ok) return;
        if (readyFirst && ledger.job(jobId).status == JobTypes.Status.Open) _consentAll(jobId);
        address caller = members[callerSeed % members.length];
        PayoutOracle.Credit[] memory expected =
            _expectRefund(jobId, ledger.job(jobId).status == JobTypes.Status.Ready, caller);
        vm.recordLogs();
        vm.prank(caller);
        ledger.abort(jobId, "abort");
        _settle(expected);
    }

    function withdraw(uint256 callerSeed) external {
        address caller = members[callerSeed % members.length];
        vm.prank(caller);
        settlement.withdraw();
        if (!consortium.isMember(caller)) ++ghostOutsiderSuccesses;
    }

    // ---- audit records ----

    /// @dev A founder (a participant of the job or not, a member now or removed) anchors its records of
    /// a job; a success by a non-member, a non-participant, or past MAX_JOB_BATCHES breaks the rules.
    function anchorJobRecords(uint256 who, uint256 jobSeed) external {
        (bool ok, uint256 jobId) = _job(jobSeed);
        if (!ok) return;
        address caller = members[who % members.length];
        uint256 before = anchorContract.batchesOf(caller, anchorContract.jobRecordsTag(jobId)).length;
        vm.prank(caller);
        try anchorContract.anchorJobRecords(jobId, keccak256(abi.encode(jobId, before)), 1) {
            if (!consortium.isMember(caller) || !ledger.isParticipant(jobId, caller)) ++ghostRoleViolations;
            if (before >= anchorContract.MAX_JOB_BATCHES()) ++ghostRoleViolations;
        } catch {}
    }

    function _isComputeParty(address[] memory parties, address account) private pure returns (bool) {
        for (uint256 i = 0; i < parties.length; ++i) {
            if (parties[i] == account) return true;
        }
        return false;
    }
}
