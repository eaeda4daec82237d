// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Consortium} from "../../src/Consortium.sol";
import {Settlement} from "../../src/Settlement.sol";
import {JobLedger} from "../../src/JobLedger.sol";
import {AuditAnchor} from "../../src/AuditAnchor.sol";
import {DataRegistry} from "../../src/DataRegistry.sol";
import {JobTypes} from "../../src/base/JobTypes.sol";
import {Governed} from "../../src/base/Governed.sol";
import {Membership} from "../../src/base/Membership.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {HandlerBase} from "./HandlerBase.sol";
import {PayoutOracle} from "./PayoutOracle.sol";

/// @notice Drives random job lifecycles with adversaries: members acting in and out of role,
/// ex-members who still own sources, hold credits and job roles, governance changing the fee,
/// windows, roles and membership mid-run, attesters withholding (time passes while nobody
/// signs), and direct token transfers into Settlement.
contract JobHandler is HandlerBase {
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
        (bool success,) = address(ledger).call(abi.encodeCall(JobLedger.escalate, (jobId)));
        if (success != allowed) ++ghostLivenessViolations;
    }

    function resolve(uint256 jobSeed, bool releaseEscrow) external {
        (bool ok, uint256 jobId) = _job(jobSeed);
        if (!ok) return;
        PayoutOracle.Credit[] memory expected =
            releaseEscrow ? _expectSplit(jobId) : _expectRefund(jobId, false, address(0));
        vm.recordLogs();
        _govern(address(ledger), abi.encodeCall(JobLedger.resolveDispute, (jobId, releaseEscrow)));
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

    // ---- governance changes terms, roles and membership mid-run ----

    /// @dev Raw values, often outside the documented ranges: the contracts must refuse those.
    /// (`window`, `second`) pick fee, challenge, attestation or resolution window evenly.
    function changeSetting(uint64 raw, bool window, bool second) external {
        if (!window && !second) _govern(address(settlement), abi.encodeCall(Settlement.setFeeBps, (uint16(raw % 4_000))));
        else if (!window) _govern(address(ledger), abi.encodeCall(JobLedger.setChallengeWindow, (raw % 40 days)));
        else if (!second) _govern(address(ledger), abi.encodeCall(JobLedger.setAttestationWindow, (raw % 10 days)));
        else _govern(address(ledger), abi.encodeCall(JobLedger.setResolutionWindow, (raw % 20 days)));
    }

    /// @dev Removes or re-admits provider1 (owner of two sources) or compute2 (a compute party).
    function toggleMember(bool compute) external {
        uint256 index = compute ? 4 : 1;
        address account = members[index];
        if (consortium.isMember(account)) {
            _govern(address(consortium), abi.encodeCall(Consortium.removeMember, (account)));
        } else {
            _govern(address(consortium), abi.encodeCall(Consortium.addMember, (account, founderRoles[index], "back")));
        }
    }

    /// @dev Strips or restores compute1's COMPUTE or provider2's PROVIDER.
    function toggleRole(bool compute) external {
        uint256 index = compute ? 3 : 2;
        address account = members[index];
        uint8 full = founderRoles[index];
        uint8 stripped = compute ? AUDITOR : REQUESTER;
        uint8 next = consortium.member(account).roles == full ? stripped : full;
        _govern(address(consortium), abi.encodeCall(Consortium.setRoles, (account, next)));
    }

    /// @dev A member sends tokens straight to Settlement (by mistake).
    function strayTransfer(uint256 amount, uint256 callerSeed) external {
        amount = amount % 1_000;
        vm.prank(members[callerSeed % members.length]);
        token.transfer(address(settlement), amount);
        ghostStray += amount;
    }

    /// @dev Governance sweeps some of the stray tokens back to a member.
    function sweep(uint256 amount) external {
        amount = amount % (ghostStray + 2);
        _govern(address(settlement), abi.encodeCall(Settlement.sweep, (IERC20(address(token)), members[0], amount)));
        // A sweep larger than the stray part took escrow or credits: conservation then fails.
        ghostStray = amount > ghostStray ? 0 : ghostStray - amount;
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

    // ---- outsiders and ex-members ----

    /// @dev An outsider, or a founder removed right now (still owning sources, holding credits and
    /// job roles), tries one state-changing call; any success breaks the rules.
    function outsiderActs(uint256 who, uint8 action, uint256 jobSeed) external {
        address actor = _outsider(who);
        uint256 jobId = jobSeed % (ledger.jobCount() + 1);
        bytes memory sig = new bytes(65);
        uint256[] memory one = new uint256[](1);
        address target = address(ledger);
        bytes memory data;
        action = action % 13;
        if (action == 0) data = abi.encodeCall(JobLedger.consent, (jobId, _firstSource(jobId)));
        else if (action == 1) data = abi.encodeCall(JobLedger.commitResult, (jobId, 0, 0, one, 0));
        else if (action == 2) data = abi.encodeCall(JobLedger.attest, (jobId, members[1], sig));
        else if (action == 3) data = abi.encodeCall(JobLedger.finalize, (jobId));
        else if (action == 4) data = abi.encodeCall(JobLedger.dispute, (jobId, 0));
        else if (action == 5) data = abi.encodeCall(JobLedger.cancel, (jobId));
        else if (action == 6) data = abi.encodeCall(JobLedger.abort, (jobId, 0));
        else if (action == 7) data = abi.encodeCall(JobLedger.escalate, (jobId));
        else if (action == 8) (target, data) = (address(settlement), abi.encodeCall(Settlement.withdraw, ()));
        else if (action == 9) (target, data) = (address(anchorContract), abi.encodeCall(AuditAnchor.anchor, (keccak256("x"), 1, 0)));
        else if (action == 12) {
            (target, data) = (address(anchorContract), abi.encodeCall(AuditAnchor.anchorJobRecords, (jobId, keccak256("x"), 1)));
        }
        else if (action == 10) {
            (target, data) = (address(registry), abi.encodeCall(DataRegistry.updateCommitment, (sources[0], keccak256("v"), 1)));
        } else {
            (target, data) = (address(consortium), abi.encodeCall(Consortium.propose, (address(consortium), "", "")));
        }
        vm.prank(actor);
        (bool success, bytes memory err) = target.call(data);
        // Refused, and refused at the door (the membership or role check), not by luck deeper down.
        if (success || !_stoppedAtTheDoor(err)) ++ghostOutsiderSuccesses;
    }

    function _stoppedAtTheDoor(bytes memory err) private pure returns (bool) {
        if (err.length < 4) return false;
        bytes4 selector = bytes4(err);
        return selector == Governed.GovernedUnauthorizedMember.selector
            || selector == Membership.ConsortiumNotMember.selector
            || selector == DataRegistry.DataRegistryNotOwner.selector;
    }

    function _outsider(uint256 who) private view returns (address) {
        // Removed founders first: they are the interesting adversaries when they exist.
        if (who % 2 == 0 && !consortium.isMember(members[1])) return members[1];
        if (who % 2 == 0 && !consortium.isMember(members[4])) return members[4];
        return outsiders[who % outsiders.length];
    }

    function _firstSource(uint256 jobId) private view returns (uint256) {
        if (jobId >= ledger.jobCount()) return sources[0];
        (uint256[] memory ids,,,) = ledger.jobSources(jobId);
        return ids[0];
    }

    function _isComputeParty(address[] memory parties, address account) private pure returns (bool) {
        for (uint256 i = 0; i < parties.length; ++i) {
            if (parties[i] == account) return true;
        }
        return false;
    }
}
