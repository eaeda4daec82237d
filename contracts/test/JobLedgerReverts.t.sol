// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {CustosFixture} from "./fixtures/CustosFixture.sol";
import {JobLedger} from "../src/JobLedger.sol";
import {JobLiveness} from "../src/base/JobLiveness.sol";
import {JobRecords} from "../src/base/JobRecords.sol";
import {JobTypes} from "../src/base/JobTypes.sol";
import {Governed} from "../src/base/Governed.sol";

/// @notice Every revert path of JobLedger.
contract JobLedgerRevertsTest is CustosFixture {
    // ---- open reverts ----

    function test_RevertWhen_OpenerLacksRequesterRole() public {
        uint256 a = _register(provider1, 1);
        uint256[] memory ids = new uint256[](1);
        ids[0] = a;
        vm.prank(provider1);
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernedUnauthorizedMember.selector, provider1, REQUESTER));
        ledger.openJob(PSI, ids, 0, _computeParties(), 1, type(uint256).max, uint64(block.timestamp + 1));
    }

    function test_RevertWhen_OpenDeadlineNotInFuture() public {
        uint256[] memory ids = new uint256[](1);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerDeadlinePassed.selector, type(uint256).max, uint64(block.timestamp)));
        ledger.openJob(PSI, ids, 0, _computeParties(), 1, type(uint256).max, uint64(block.timestamp));
    }

    function test_RevertWhen_OpenSourcesEmptyOrDuplicated() public {
        uint256 a = _register(provider1, 1);
        uint64 deadline = uint64(block.timestamp + 1);
        vm.startPrank(requester);
        vm.expectRevert(JobRecords.JobLedgerInvalidSources.selector);
        ledger.openJob(PSI, new uint256[](0), 0, _computeParties(), 1, type(uint256).max, deadline);
        vm.expectRevert(JobRecords.JobLedgerInvalidSources.selector);
        ledger.openJob(PSI, new uint256[](33), 0, _computeParties(), 1, type(uint256).max, deadline);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerDuplicateSource.selector, a));
        ledger.openJob(PSI, _ids(a, a), 0, _computeParties(), 1, type(uint256).max, deadline);
        vm.stopPrank();
    }

    function test_RevertWhen_OpenSourceUnavailable() public {
        uint256 a = _register(provider1, 1);
        vm.prank(provider1);
        registry.retireSource(a);
        uint256[] memory ids = new uint256[](1);
        ids[0] = a;
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerSourceUnavailable.selector, a, requester, uint8(2)));
        ledger.openJob(2, ids, 0, _computeParties(), 1, type(uint256).max, uint64(block.timestamp + 1));
    }

    function test_RevertWhen_OpenComputePartiesInvalid() public {
        uint256 a = _register(provider1, 1);
        uint256[] memory ids = new uint256[](1);
        ids[0] = a;
        uint64 deadline = uint64(block.timestamp + 1);
        address[] memory twice = new address[](2);
        (twice[0], twice[1]) = (compute1, compute1);
        address[] memory wrong = new address[](1);
        wrong[0] = auditor;
        vm.startPrank(requester);
        vm.expectRevert(JobRecords.JobLedgerInvalidComputeParties.selector);
        ledger.openJob(PSI, ids, 0, new address[](0), 1, type(uint256).max, deadline);
        vm.expectRevert(JobRecords.JobLedgerInvalidComputeParties.selector);
        ledger.openJob(PSI, ids, 0, new address[](17), 1, type(uint256).max, deadline);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerDuplicateComputeParty.selector, compute1));
        ledger.openJob(PSI, ids, 0, twice, 1, type(uint256).max, deadline);
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernedUnauthorizedMember.selector, auditor, COMPUTE));
        ledger.openJob(PSI, ids, 0, wrong, 1, type(uint256).max, deadline);
        vm.stopPrank();
    }

    function test_RevertWhen_OpenBudgetBelowPricesOrZero() public {
        uint256 a = _register(provider1, 10);
        uint256[] memory ids = new uint256[](1);
        ids[0] = a;
        vm.startPrank(requester);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerInvalidBudget.selector, 9, 10));
        ledger.openJob(PSI, ids, 0, _computeParties(), 9, type(uint256).max, uint64(block.timestamp + 1));
        vm.stopPrank();
        uint256 free = _register(provider1, 0);
        ids[0] = free;
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerInvalidBudget.selector, 0, 0));
        ledger.openJob(PSI, ids, 0, _computeParties(), 0, type(uint256).max, uint64(block.timestamp + 1));
    }

    // ---- consent reverts ----

    function test_RevertWhen_ConsentByNonOwnerTwiceOrForeignSource() public {
        uint256 a = _register(provider1, 1);
        uint256 b = _register(provider2, 1);
        uint256 jobId = _open(_ids(a, b), 10);
        vm.prank(provider2);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerNotSourceOwner.selector, jobId, a, provider2));
        ledger.consent(jobId, a);
        vm.prank(provider2);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerSourceNotInJob.selector, jobId, 99));
        ledger.consent(jobId, 99);
        vm.startPrank(provider1);
        ledger.consent(jobId, a);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerAlreadyConsented.selector, jobId, a));
        ledger.consent(jobId, a);
        vm.stopPrank();
    }

    function test_RevertWhen_ConsentAfterDeadlineOrWhenReady() public {
        uint256 jobId = _readyJob();
        vm.prank(provider1);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerWrongStatus.selector, jobId, JobTypes.Status.Ready));
        ledger.consent(jobId, 0);
        uint256 jobId2 = _open(_ids(0, 1), 100 ether);
        uint64 deadline = ledger.job(jobId2).deadline;
        vm.warp(deadline + 1);
        vm.prank(provider1);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerDeadlinePassed.selector, jobId2, deadline));
        ledger.consent(jobId2, 0);
    }

    function test_RevertWhen_UnknownJob() public {
        vm.prank(provider1);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerUnknownJob.selector, 5));
        ledger.consent(5, 0);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerUnknownJob.selector, 5));
        ledger.jobSources(5);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerUnknownJob.selector, 5));
        ledger.jobParties(5);
    }

    // ---- commit reverts ----

    function test_RevertWhen_CommitByNonComputeOrNotReady() public {
        uint256 jobId = _open(_ids(_register(provider1, 1), _register(provider2, 1)), 10);
        vm.prank(compute1);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerWrongStatus.selector, jobId, JobTypes.Status.Open));
        ledger.commitResult(jobId, 0, 0, _weights(1, 1), 0);
        uint256 ready = _readyJob();
        vm.prank(provider1);
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernedUnauthorizedMember.selector, provider1, COMPUTE));
        ledger.commitResult(ready, 0, 0, _weights(1, 1), 0);
    }

    function test_RevertWhen_CommitAfterDeadline() public {
        uint256 jobId = _readyJob();
        uint64 deadline = ledger.job(jobId).deadline;
        vm.warp(deadline + 1);
        vm.prank(compute1);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerDeadlinePassed.selector, jobId, deadline));
        ledger.commitResult(jobId, 0, 0, _weights(1, 1), 0);
    }

    function test_RevertWhen_CommitWeightsInvalid() public {
        uint256 jobId = _readyJob();
        bytes memory err = abi.encodeWithSelector(JobRecords.JobLedgerInvalidWeights.selector, jobId);
        vm.startPrank(compute1);
        vm.expectRevert(err);
        ledger.commitResult(jobId, 0, 0, new uint256[](1), 0);
        vm.expectRevert(err);
        ledger.commitResult(jobId, 0, 0, _weights(0, 0), 0);
        vm.expectRevert(err);
        ledger.commitResult(jobId, 0, 0, _weights(type(uint256).max, 1), 0);
        vm.stopPrank();
    }

    // ---- attest / finalize / dispute reverts ----

    function test_RevertWhen_AttestBeforeCommitOrByNonAttester() public {
        uint256 jobId = _readyJob();
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerWrongStatus.selector, jobId, JobTypes.Status.Ready));
        ledger.attest(jobId, provider1, "");
        vm.prank(compute1);
        ledger.commitResult(jobId, 0, 0, _weights(1, 1), 0);
        bytes memory sig = _sign(REQUESTER_KEY, ledger.attestationDigest(jobId));
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerNotAttester.selector, jobId, requester));
        ledger.attest(jobId, requester, sig);
    }

    function test_RevertWhen_FinalizeMissingAttestationsOrWindowOpen() public {
        uint256 jobId = _committedJob();
        vm.prank(auditor);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerMissingAttestations.selector, jobId, 0, 4));
        ledger.finalize(jobId);
        _attestAll(jobId);
        uint256 endsAt = ledger.job(jobId).committedAt + WINDOW;
        vm.prank(auditor);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerChallengeWindowOpen.selector, jobId, endsAt));
        ledger.finalize(jobId);
    }

    function test_RevertWhen_FinalizedTwice() public {
        uint256 jobId = _finalizedJob();
        vm.prank(auditor);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerWrongStatus.selector, jobId, JobTypes.Status.Finalized));
        ledger.finalize(jobId);
    }

    function test_RevertWhen_DisputeByOutsiderOfJobOrAfterWindow() public {
        uint256 jobId = _committedJob();
        vm.prank(auditor);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerNotParticipant.selector, jobId, auditor));
        ledger.dispute(jobId, 0);
        uint256 endsAt = ledger.job(jobId).committedAt + WINDOW;
        vm.warp(endsAt);
        vm.prank(provider1);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerChallengeWindowClosed.selector, jobId, endsAt));
        ledger.dispute(jobId, 0);
        uint256 ready = _readyJob();
        vm.prank(provider1);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerWrongStatus.selector, ready, JobTypes.Status.Ready));
        ledger.dispute(ready, 0);
    }

    function test_RevertWhen_ResolveDisputeDirectlyOrNotDisputed() public {
        uint256 jobId = _committedJob();
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernedOnlyGovernance.selector, requester));
        ledger.resolveDispute(jobId, true);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernedOnlyGovernance.selector, requester));
        ledger.setChallengeWindow(1);
        vm.prank(requester);
        uint256 id = consortium.propose(address(ledger), abi.encodeCall(JobLiveness.resolveDispute, (jobId, true)), "");
        vm.prank(provider1);
        consortium.approve(id);
        vm.prank(provider2);
        consortium.approve(id);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerWrongStatus.selector, jobId, JobTypes.Status.Committed));
        consortium.execute(id);
    }

    // ---- cancel / abort reverts ----

    function test_RevertWhen_CancelBeforeDeadlineByNonParticipantOrAfterCommit() public {
        uint256 jobId = _readyJob();
        uint64 deadline = ledger.job(jobId).deadline;
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerDeadlineNotReached.selector, jobId, deadline));
        ledger.cancel(jobId);
        vm.warp(deadline + 1);
        vm.prank(auditor);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerNotParticipant.selector, jobId, auditor));
        ledger.cancel(jobId);
        uint256 committed = _committedJob();
        vm.warp(ledger.job(committed).deadline + 1);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerWrongStatus.selector, committed, JobTypes.Status.Committed));
        ledger.cancel(committed);
    }

    function test_RevertWhen_AbortByNonParticipantOrAfterCommit() public {
        uint256 jobId = _readyJob();
        vm.prank(auditor);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerNotParticipant.selector, jobId, auditor));
        ledger.abort(jobId, 0);
        vm.prank(compute1);
        ledger.commitResult(jobId, 0, 0, _weights(1, 1), 0);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerWrongStatus.selector, jobId, JobTypes.Status.Committed));
        ledger.abort(jobId, 0);
    }

    function test_RevertWhen_OutsiderCallsAnyJobFunction() public {
        uint256 jobId = _committedJob();
        bytes memory err = abi.encodeWithSelector(Governed.GovernedUnauthorizedMember.selector, outsider, 0);
        vm.startPrank(outsider);
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernedUnauthorizedMember.selector, outsider, PROVIDER));
        ledger.consent(jobId, 0);
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernedUnauthorizedMember.selector, outsider, COMPUTE));
        ledger.commitResult(jobId, 0, 0, _weights(1, 1), 0);
        vm.expectRevert(err);
        ledger.attest(jobId, provider1, "");
        vm.expectRevert(err);
        ledger.finalize(jobId);
        vm.expectRevert(err);
        ledger.dispute(jobId, 0);
        vm.expectRevert(err);
        ledger.cancel(jobId);
        vm.expectRevert(err);
        ledger.abort(jobId, 0);
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernedUnauthorizedMember.selector, outsider, REQUESTER));
        ledger.openJob(PSI, new uint256[](1), 0, _computeParties(), 1, type(uint256).max, uint64(block.timestamp + 1));
        vm.stopPrank();
    }

    function test_RevertWhen_ConstructedWithZeroAddresses() public {
        vm.expectRevert(Governed.GovernedZeroAddress.selector);
        new JobLedger(address(consortium), address(0), address(settlement), 1);
        vm.expectRevert(Governed.GovernedZeroAddress.selector);
        new JobLedger(address(consortium), address(registry), address(0), 1);
    }
}
