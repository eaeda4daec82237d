// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {CustosFixture} from "./fixtures/CustosFixture.sol";
import {Consortium} from "../src/Consortium.sol";
import {CustosToken} from "../src/CustosToken.sol";
import {DataRegistry} from "../src/DataRegistry.sol";
import {Settlement} from "../src/Settlement.sol";
import {JobLedger} from "../src/JobLedger.sol";
import {AuditAnchor} from "../src/AuditAnchor.sol";
import {JobRecords} from "../src/base/JobRecords.sol";
import {JobTypes} from "../src/base/JobTypes.sol";
import {Governed} from "../src/base/Governed.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @notice One regression test per finding of the contracts review (F1–F8 and the "also" items),
/// each named after what it proves. The fixture's job: provider1 at 10, provider2 at 20, budget
/// 1000, compute1 and compute2, weights 3:1, fee 10%, challenge window 1 day.
contract FindingsTest is CustosFixture {
    uint256 private constant BUDGET = 1000 ether;

    function _attestAllBut(uint256 jobId, uint256 skippedKey) private {
        bytes32 digest = ledger.attestationDigest(jobId);
        uint256[4] memory keys = [PROVIDER1_KEY, PROVIDER2_KEY, COMPUTE1_KEY, COMPUTE2_KEY];
        for (uint256 i = 0; i < keys.length; ++i) {
            if (keys[i] == skippedKey) continue;
            vm.prank(requester);
            ledger.attest(jobId, vm.addr(keys[i]), _sign(keys[i], digest));
        }
    }

    function _escalatedJob() private returns (uint256 jobId) {
        jobId = _committedJob();
        _attestAllBut(jobId, PROVIDER2_KEY);
        vm.warp(block.timestamp + ledger.DEFAULT_ATTESTATION_WINDOW());
        vm.prank(provider1);
        ledger.escalate(jobId);
    }

    // ---- F1: one missing attestation no longer locks the escrow ----

    function test_F1_SilentAttesterAfterCommitIsEscalatedAndGovernanceReleases() public {
        uint256 jobId = _escalatedJob();
        assertEq(uint256(_status(jobId)), uint256(JobTypes.Status.Disputed), "escalated to resolution");
        _govern(address(ledger), abi.encodeCall(JobLedger.resolveDispute, (jobId, true)));
        assertEq(uint256(_status(jobId)), uint256(JobTypes.Status.Finalized), "released by governance");
        assertEq(settlement.escrowOf(jobId), 0, "escrow empty");
    }

    function test_F1_UnresolvedEscalationEndsByTheDefaultAfterTheResolutionWindow() public {
        uint256 jobId = _escalatedJob();
        (, uint64 disputedAt) = ledger.jobTerms(jobId);
        vm.warp(uint256(disputedAt) + ledger.MAX_RESOLUTION_WINDOW() - 1);
        vm.prank(auditor);
        vm.expectRevert();
        ledger.settleUnresolved(jobId);
        vm.warp(uint256(disputedAt) + ledger.MAX_RESOLUTION_WINDOW());
        vm.prank(auditor); // not a participant: anyone (any member) applies the default
        ledger.settleUnresolved(jobId);
        assertEq(uint256(_status(jobId)), uint256(JobTypes.Status.Refunded), "default applied");
        assertEq(settlement.creditOf(provider1), 10 ether, "provider1's price");
        assertEq(settlement.creditOf(provider2), 20 ether, "provider2's price");
        assertEq(settlement.creditOf(requester), BUDGET - 30 ether, "the rest refunded");
        assertEq(settlement.escrowOf(jobId), 0, "nothing left in escrow");
    }

    function test_F1_GovernanceCannotResolveAfterTheResolutionWindow() public {
        uint256 jobId = _escalatedJob();
        vm.warp(block.timestamp + ledger.MAX_RESOLUTION_WINDOW());
        vm.prank(requester);
        uint256 id = consortium.propose(address(ledger), abi.encodeCall(JobLedger.resolveDispute, (jobId, true)), "");
        vm.prank(provider1);
        consortium.approve(id);
        vm.prank(provider2);
        consortium.approve(id);
        vm.prank(requester);
        vm.expectRevert();
        consortium.execute(id);
    }

    function test_F1_EscalationWaitsForTheAttestationWindowAndNeedsAMissingSignature() public {
        uint256 jobId = _committedJob();
        uint256 endsAt = block.timestamp + ledger.DEFAULT_ATTESTATION_WINDOW();
        vm.prank(provider1);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerAttestationWindowOpen.selector, jobId, endsAt));
        ledger.escalate(jobId);
        _attestAll(jobId);
        vm.warp(endsAt);
        vm.prank(provider1);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerNothingMissing.selector, jobId));
        ledger.escalate(jobId);
        vm.prank(auditor);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerNotParticipant.selector, jobId, auditor));
        ledger.escalate(jobId);
    }

    function test_F1_DisputeLeftUnresolvedEndsByTheDefault() public {
        uint256 jobId = _committedJob();
        vm.prank(provider2);
        ledger.dispute(jobId, keccak256("evidence"));
        vm.warp(block.timestamp + ledger.MAX_RESOLUTION_WINDOW());
        vm.prank(compute1);
        ledger.settleUnresolved(jobId);
        assertEq(settlement.escrowOf(jobId), 0, "escrow settled");
        assertEq(settlement.creditOf(requester), BUDGET - 30 ether, "requester gets the rest");
    }

    // ---- F2: terms are fixed at opening ----

    function test_F2_FeeRaisedAfterOpeningDoesNotChangeThePayout() public {
        uint256 jobId = _committedJob();
        _govern(address(settlement), abi.encodeCall(Settlement.setFeeBps, (3000)));
        _attestAll(jobId);
        vm.warp(block.timestamp + WINDOW);
        vm.prank(auditor);
        ledger.finalize(jobId);
        uint256 rest = 970 ether - 97 ether; // 10% of the pool, the fee the job opened with
        assertEq(settlement.creditOf(provider1), 10 ether + rest * 3 / 4, "provider1 paid at the opening fee");
        assertEq(settlement.creditOf(provider2), 20 ether + rest / 4, "provider2 paid at the opening fee");
        assertEq(settlement.creditOf(compute2), 48.5 ether, "compute share at the opening fee");
    }

    function test_F2_WindowShrunkMidWindowDoesNotBlockAPendingDispute() public {
        uint256 jobId = _committedJob();
        _govern(address(ledger), abi.encodeCall(JobLedger.setChallengeWindow, (10 minutes)));
        vm.warp(block.timestamp + 1 hours);
        vm.prank(provider1);
        ledger.dispute(jobId, keccak256("evidence"));
        assertEq(uint256(_status(jobId)), uint256(JobTypes.Status.Disputed), "the job's own window still open");
    }

    function test_F2_JobOpenedRecordsTheTermsAndJobTermsReturnsThem() public {
        _govern(address(ledger), abi.encodeCall(JobLedger.setAttestationWindow, (2 hours)));
        _govern(address(ledger), abi.encodeCall(JobLedger.setResolutionWindow, (3 days)));
        uint256[] memory ids = _ids(_register(provider1, 1), _register(provider2, 2));
        address[] memory parties = new address[](2);
        (parties[0], parties[1]) = (compute1, compute2);
        vm.startPrank(requester);
        token.approve(address(settlement), 10);
        vm.recordLogs();
        uint256 jobId = ledger.openJob(FEDAVG, ids, 0, parties, 10, 3, uint64(block.timestamp + 1 days));
        vm.stopPrank();
        (JobTypes.Terms memory terms,) = ledger.jobTerms(jobId);
        assertEq(terms.feeBps, FEE_BPS, "fee");
        assertEq(terms.challengeWindow, WINDOW, "challenge window");
        assertEq(terms.attestationWindow, 2 hours, "attestation window");
        assertEq(terms.resolutionWindow, 3 days, "resolution window");
        bytes32 topic = keccak256(
            "JobOpened(uint256,address,uint8,uint256[],uint64[],bytes32,bytes32,address[],uint256,uint64,uint16,uint64,uint64,uint64)"
        );
        assertEq(vm.getRecordedLogs()[0].topics[0], topic, "JobOpened carries the terms");
    }

    // ---- F3: every governance setting is bounded ----

    function test_F3_HugeProposalTtlIsRefusedSoGovernanceCannotBeBricked() public {
        vm.prank(requester);
        uint256 id =
            consortium.propose(address(consortium), abi.encodeCall(Consortium.setProposalTtl, (type(uint64).max)), "");
        vm.prank(provider1);
        consortium.approve(id);
        vm.prank(provider2);
        consortium.approve(id);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ConsortiumInvalidTtl.selector, type(uint64).max));
        consortium.execute(id);
        vm.prank(requester);
        consortium.propose(address(consortium), abi.encodeCall(Consortium.setThreshold, (2)), "still works");
    }

    function test_F3_SettingsOutsideTheirRangesAreRefused() public {
        vm.startPrank(address(consortium));
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerWindowOutOfRange.selector, 599, 600, 30 days));
        ledger.setChallengeWindow(599);
        vm.expectRevert(
            abi.encodeWithSelector(JobRecords.JobLedgerWindowOutOfRange.selector, 30 days + 1, 600, 30 days)
        );
        ledger.setChallengeWindow(30 days + 1);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerWindowOutOfRange.selector, 59 minutes, 1 hours, 7 days));
        ledger.setAttestationWindow(59 minutes);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerWindowOutOfRange.selector, 15 days, 1 days, 14 days));
        ledger.setResolutionWindow(15 days);
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementInvalidFee.selector, 3001));
        settlement.setFeeBps(3001);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ConsortiumInvalidTtl.selector, 59 minutes));
        consortium.setProposalTtl(59 minutes);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ConsortiumInvalidDelay.selector, 14 days + 1));
        consortium.setDelay(CustosToken.mint.selector, 14 days + 1);
        vm.stopPrank();
    }

    // ---- F4: aborts cannot be gamed by the requester ----

    function test_F4_RequesterAbortAfterReadyPaysTheOwnersPrices() public {
        uint256 jobId = _readyJob();
        vm.prank(requester);
        ledger.abort(jobId, "saw enough");
        assertEq(settlement.creditOf(provider1), 10 ether, "provider1's price");
        assertEq(settlement.creditOf(provider2), 20 ether, "provider2's price");
        assertEq(settlement.creditOf(requester), BUDGET - 30 ether, "only the rest refunded");
    }

    /// @dev provider2 is REQUESTER|PROVIDER: it opens a job on provider1's source and its own (the guest).
    function _jobOpenedByAnOwner() private returns (uint256 jobId, uint256[] memory ids) {
        ids = _ids(_register(provider1, 10 ether), _register(provider2, 20 ether));
        address[] memory parties = new address[](1);
        parties[0] = compute1;
        vm.startPrank(provider2);
        token.approve(address(settlement), BUDGET);
        jobId = ledger.openJob(FEDAVG, ids, 0, parties, BUDGET, BUDGET, uint64(block.timestamp + 7 days));
        ledger.consent(jobId, ids[1]);
        vm.stopPrank();
        vm.prank(provider1);
        ledger.consent(jobId, ids[0]);
    }

    function test_F4_RequesterWhoIsAlsoAnOwnerGetsNoMoreByAbortingAsOwner() public {
        (uint256 jobId,) = _jobOpenedByAnOwner();
        vm.prank(provider2);
        ledger.abort(jobId, "as the guest");
        assertEq(settlement.creditOf(provider1), 10 ether, "the other owner's price");
        assertEq(settlement.creditOf(provider2), BUDGET - 10 ether, "budget minus the others' prices");
    }

    function test_F4_DroppedLinkAbortByTheComputePartyReturnsTheRequesterNoMoreThanItsOwnAbort() public {
        (uint256 jobId,) = _jobOpenedByAnOwner();
        vm.prank(compute1);
        ledger.abort(jobId, "guest unreachable");
        assertEq(settlement.creditOf(provider1), 10 ether, "the other owner's price");
        assertEq(settlement.creditOf(provider2), BUDGET - 10 ether, "same as its own abort after Ready");
    }

    function test_F4_RequesterWithholdingItsAttestationGetsNoMoreThanItsOwnAbort() public {
        (uint256 jobId, uint256[] memory ids) = _jobOpenedByAnOwner();
        vm.prank(compute1);
        ledger.commitResult(jobId, 0, 0, _weights(1, 1), 0);
        bytes32 digest = ledger.attestationDigest(jobId);
        vm.prank(auditor); // any member submits
        ledger.attest(jobId, provider1, _sign(PROVIDER1_KEY, digest));
        vm.prank(compute1);
        ledger.attest(jobId, compute1, _sign(COMPUTE1_KEY, digest));
        vm.warp(block.timestamp + ledger.DEFAULT_ATTESTATION_WINDOW());
        vm.prank(provider2);
        ledger.escalate(jobId);
        vm.warp(block.timestamp + ledger.MAX_RESOLUTION_WINDOW());
        vm.prank(provider2);
        ledger.settleUnresolved(jobId);
        assertEq(settlement.creditOf(provider1), 10 ether, "the other owner's price");
        assertEq(settlement.creditOf(provider2), BUDGET - 10 ether, "no more than its own abort");
        assertEq(ids.length, 2, "two sources");
    }

    function test_F4_OwnerWhoAbortsAfterConsentingEarnsNothing() public {
        uint256 jobId = _readyJob();
        vm.prank(provider1);
        ledger.abort(jobId, "walked away");
        assertEq(settlement.creditOf(provider1), 0, "the aborting owner forfeits its price");
        assertEq(settlement.creditOf(provider2), 20 ether, "the other owner is paid");
        assertEq(settlement.creditOf(requester), BUDGET - 20 ether, "the rest refunded");
    }

    function test_F4_RequesterAbortWhileOpenRefundsEverything() public {
        uint256 jobId = _open(_ids(_register(provider1, 10 ether), _register(provider2, 20 ether)), BUDGET);
        vm.prank(requester);
        ledger.abort(jobId, "");
        assertEq(settlement.creditOf(requester), BUDGET, "nobody consented yet");
    }

    // ---- F5: a removed owner's source is unusable, and governance retires it ----

    function test_F5_RemovedOwnersSourceCannotBeUsedEvenWithAutoConsent() public {
        vm.startPrank(provider1);
        uint256 id = registry.registerSource(_spec(0, 1 << FEDAVG));
        registry.setAutoConsent(id, requester, true);
        vm.stopPrank();
        _govern(address(consortium), abi.encodeCall(Consortium.removeMember, (provider1)));
        assertFalse(registry.isUsableBy(id, requester, FEDAVG), "unusable");
        uint256[] memory ids = new uint256[](1);
        ids[0] = id;
        vm.startPrank(requester);
        token.approve(address(settlement), 1);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerSourceUnavailable.selector, id, requester, FEDAVG));
        ledger.openJob(FEDAVG, ids, 0, _computeParties(), 1, 0, uint64(block.timestamp + 1 days));
        vm.stopPrank();
    }

    function test_F5_GovernanceRetiresARemovedMembersSource() public {
        uint256 id = _register(provider1, 10);
        _govern(address(consortium), abi.encodeCall(Consortium.removeMember, (provider1)));
        vm.prank(requester);
        uint256 p = consortium.propose(address(registry), abi.encodeCall(DataRegistry.retireSource, (id)), "");
        vm.prank(provider2);
        consortium.approve(p);
        vm.prank(compute1);
        consortium.approve(p);
        vm.prank(auditor);
        consortium.execute(p);
        assertFalse(registry.source(id).active, "retired by governance");
    }

    // ---- F6: roles are checked at each action ----

    function test_F6_ComputePartyStrippedOfComputeCannotCommit() public {
        uint256 jobId = _readyJob();
        _govern(address(consortium), abi.encodeCall(Consortium.setRoles, (compute1, AUDITOR)));
        vm.prank(compute1);
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernedUnauthorizedMember.selector, compute1, COMPUTE));
        ledger.commitResult(jobId, 0, 0, _weights(1, 1), 0);
    }

    function test_F6_ProviderStrippedOfProviderCannotUpdateItsCommitment() public {
        uint256 id = _register(provider1, 10);
        _govern(address(consortium), abi.encodeCall(Consortium.setRoles, (provider1, REQUESTER)));
        vm.prank(provider1);
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernedUnauthorizedMember.selector, provider1, PROVIDER));
        registry.updateCommitment(id, keccak256("rows-v2"), 10);
    }

    // ---- F7: tokens sent to Settlement by mistake are accounted and swept ----

    function test_F7_TokensSentToSettlementAreStrayAndOnlyTheStrayPartIsSwept() public {
        uint256 jobId = _readyJob();
        vm.prank(requester);
        token.transfer(address(settlement), 5 ether);
        assertEq(settlement.strayBalance(), 5 ether, "stray accounted");
        vm.prank(address(consortium));
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementSweepTooLarge.selector, 6 ether, 5 ether));
        settlement.sweep(IERC20(address(token)), requester, 6 ether);
        _govern(address(settlement), abi.encodeCall(Settlement.sweep, (IERC20(address(token)), requester, 5 ether)));
        assertEq(settlement.strayBalance(), 0, "swept");
        assertEq(settlement.escrowOf(jobId), BUDGET, "escrow untouched");
        assertEq(token.balanceOf(address(settlement)), settlement.totalEscrowed() + settlement.totalCredits(), "balance");
    }

    // ---- F8: a price raised in front of openJob makes it revert ----

    function test_F8_PriceRaisedInFrontOfOpenJobMakesItRevert() public {
        uint256 a = _register(provider1, 10 ether);
        uint256 b = _register(provider2, 20 ether);
        vm.prank(provider1);
        registry.setTerms(a, 980 ether, (1 << PSI) | (1 << FEDAVG), true, 0, "ipfs://source");
        vm.startPrank(requester);
        token.approve(address(settlement), BUDGET);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerPriceAboveMax.selector, 1000 ether, 30 ether));
        ledger.openJob(FEDAVG, _ids(a, b), 0, _computeParties(), BUDGET, 30 ether, uint64(block.timestamp + 1 days));
        vm.stopPrank();
    }

    // ---- also: allowances, approvals, proposals, timelock, anchoring ----

    function test_Also_OutsiderCannotBeGrantedOrSpendAnAllowance() public {
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(CustosToken.CustosTokenOutsider.selector, outsider));
        token.approve(outsider, 1 ether);
        vm.prank(requester);
        token.approve(auditor, 1 ether);
        _govern(address(consortium), abi.encodeCall(Consortium.removeMember, (auditor)));
        vm.prank(auditor);
        vm.expectRevert(abi.encodeWithSelector(CustosToken.CustosTokenOutsider.selector, auditor));
        token.transferFrom(requester, provider1, 1 ether);
    }

    function test_Also_ReadmittedMembersOldApprovalDoesNotCount() public {
        vm.prank(requester);
        uint256 id = consortium.propose(address(consortium), abi.encodeCall(Consortium.setThreshold, (2)), "");
        vm.prank(auditor);
        consortium.approve(id);
        _govern(address(consortium), abi.encodeCall(Consortium.removeMember, (auditor)));
        _govern(address(consortium), abi.encodeCall(Consortium.addMember, (auditor, AUDITOR, "Regulator")));
        assertEq(consortium.approvalCount(id), 1, "the old approval does not come back");
        assertFalse(consortium.hasApproved(id, auditor), "not approved in this epoch");
        vm.prank(auditor);
        consortium.approve(id);
        assertEq(consortium.approvalCount(id), 2, "a fresh approval counts");
    }

    function test_Also_ProposerCancelsAndAMemberRevokesItsApproval() public {
        vm.prank(requester);
        uint256 id = consortium.propose(address(consortium), abi.encodeCall(Consortium.setThreshold, (2)), "");
        vm.prank(provider1);
        consortium.approve(id);
        vm.prank(provider1);
        consortium.revoke(id);
        assertEq(consortium.approvalCount(id), 1, "revoked");
        vm.prank(provider1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ConsortiumNotProposer.selector, id, provider1));
        consortium.cancel(id);
        vm.prank(requester);
        consortium.cancel(id);
        vm.prank(provider2);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ConsortiumProposalCancelled.selector, id));
        consortium.approve(id);
    }

    function test_Also_TimelockedMintWaitsItsDelayAfterTheThreshold() public {
        _govern(address(consortium), abi.encodeCall(Consortium.setDelay, (CustosToken.mint.selector, 2 days)));
        vm.prank(requester);
        uint256 id = consortium.propose(address(token), abi.encodeCall(CustosToken.mint, (requester, 1)), "");
        vm.prank(provider1);
        consortium.approve(id);
        vm.prank(provider2);
        consortium.approve(id);
        uint64 executableAt = uint64(block.timestamp + 2 days);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ConsortiumTimelocked.selector, id, executableAt));
        consortium.execute(id);
        vm.warp(executableAt);
        vm.prank(requester);
        consortium.execute(id);
        assertEq(token.balanceOf(requester), ALLOCATION + 1, "minted after the delay");
    }

    function test_Also_AnchoringNeedsAuditorOrValidatorAndTagsAreNamespacedBySender() public {
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(AuditAnchor.AuditAnchorNotAuditor.selector, requester));
        anchorContract.anchor(bytes32(uint256(1)), 1, "t");
        vm.prank(auditor);
        uint256 mine = anchorContract.anchor(bytes32(uint256(1)), 1, "t");
        vm.prank(compute2);
        anchorContract.anchor(bytes32(uint256(2)), 1, "t");
        uint256[] memory auditorsT = anchorContract.batchesOf(auditor, "t");
        assertEq(auditorsT.length, 1, "compute2's batch is not in the auditor's namespace");
        assertEq(auditorsT[0], mine, "the auditor's own batch");
    }

    function test_Also_KeyRotationMovesRolesCreditsSourcesAndTokensToTheSuccessor() public {
        uint256 jobId = _finalizedJob();
        uint256 credit = settlement.creditOf(provider1);
        (uint256[] memory ids,,,) = ledger.jobSources(jobId);
        address successor = vm.addr(0xA7);
        _govern(address(consortium), abi.encodeCall(Consortium.rotateMember, (provider1, successor)));
        assertFalse(consortium.isMember(provider1), "the old key is out");
        assertEq(uint256(consortium.member(successor).roles), uint256(PROVIDER), "roles moved");
        assertEq(consortium.successorOf(provider1), successor, "successor recorded");
        vm.prank(outsider);
        vm.expectRevert();
        settlement.claimCredits(provider1);
        vm.startPrank(successor);
        settlement.claimCredits(provider1);
        registry.claimSource(ids[0]);
        token.claimBalance(provider1);
        vm.stopPrank();
        assertEq(settlement.creditOf(successor), credit, "credits moved");
        assertEq(settlement.creditOf(provider1), 0, "nothing left behind");
        assertEq(registry.source(ids[0]).owner, successor, "source moved");
        assertEq(token.balanceOf(successor), ALLOCATION, "tokens moved");
        vm.prank(successor);
        registry.updateCommitment(ids[0], keccak256("rows-v2"), 10);
    }
}
