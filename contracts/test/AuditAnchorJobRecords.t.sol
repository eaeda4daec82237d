// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {CustosFixture} from "./fixtures/CustosFixture.sol";
import {AuditAnchor} from "../src/AuditAnchor.sol";
import {Consortium} from "../src/Consortium.sol";
import {Governed} from "../src/base/Governed.sol";

/// @notice Who may anchor (issue 16, "anchoring needs a role"): AUDITOR/VALIDATOR members anchor
/// anything; a job's participants anchor their own records of that job, a bounded number of times.
/// The fixture's job: requester, provider1 and provider2 (PROVIDER sources), compute1 and compute2.
contract AuditAnchorJobRecordsTest is CustosFixture {
    bytes32 private constant ROOT = keccak256("root");

    function _jobBatches(address member, uint256 jobId) private view returns (uint256[] memory) {
        return anchorContract.batchesOf(member, anchorContract.jobRecordsTag(jobId));
    }

    function test_EveryParticipantAnchorsItsOwnRecordsOfTheJobWhateverItsRoles() public {
        uint256 jobId = _readyJob();
        address[5] memory participants = [requester, provider1, provider2, compute1, compute2];
        for (uint256 i = 0; i < participants.length; ++i) {
            vm.prank(participants[i]);
            uint256 id = anchorContract.anchorJobRecords(jobId, ROOT, 3);
            AuditAnchor.Batch memory stored = anchorContract.batch(id);
            assertEq(stored.anchoredBy, participants[i], "anchoredBy");
            assertEq(stored.tag, anchorContract.jobRecordsTag(jobId), "tag");
            assertEq(stored.count, 3, "count");
            uint256[] memory mine = _jobBatches(participants[i], jobId);
            assertEq(mine.length, 1, "findable by (member, job)");
            assertEq(mine[0], id, "the batch");
        }
        assertEq(anchorContract.batchCount(), 5, "one batch each");
    }

    function test_AProviderOnlyMemberAnchorsAfterTheJobIsFinalAndTheRecordVerifies() public {
        uint256 jobId = _finalizedJob();
        bytes32 a = keccak256(bytes.concat(keccak256("data-access")));
        bytes32 b = keccak256(bytes.concat(keccak256("failure")));
        bytes32 root = a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
        vm.prank(provider1); // PROVIDER only: `anchor` refuses it, its job's records it may anchor
        uint256 id = anchorContract.anchorJobRecords(jobId, root, 2);
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = b;
        assertTrue(anchorContract.verifyRecord(id, proof, a), "the record is provable");
    }

    function test_JobRecordsTagCarriesThePrefixAndTheJobId() public view {
        bytes32 tag = anchorContract.jobRecordsTag(7);
        assertEq(bytes16(tag), anchorContract.JOB_TAG_PREFIX(), "prefix");
        assertEq(uint256(uint128(uint256(tag))), 7, "job id in the low bytes");
        assertTrue(anchorContract.jobRecordsTag(8) != tag, "one tag per job");
    }

    function test_RevertWhen_OutsiderAnchorsJobRecords() public {
        uint256 jobId = _readyJob();
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernedUnauthorizedMember.selector, outsider, 0));
        anchorContract.anchorJobRecords(jobId, ROOT, 1);
    }

    function test_RevertWhen_MemberOutsideTheJobAnchorsItsRecords() public {
        uint256 jobId = _readyJob();
        vm.prank(auditor); // a member, even an AUDITOR and VALIDATOR, but no participant of this job
        vm.expectRevert(abi.encodeWithSelector(AuditAnchor.AuditAnchorNotJobParticipant.selector, jobId, auditor));
        anchorContract.anchorJobRecords(jobId, ROOT, 1);
    }

    function test_RevertWhen_ParticipantOfOneJobAnchorsUnderAnother() public {
        uint256 jobId = _readyJob();
        uint256[] memory ids = new uint256[](1);
        ids[0] = _register(provider2, 0);
        uint256 other = _open(ids, 1 ether); // provider1 owns no source of it
        vm.prank(provider1);
        vm.expectRevert(abi.encodeWithSelector(AuditAnchor.AuditAnchorNotJobParticipant.selector, other, provider1));
        anchorContract.anchorJobRecords(other, ROOT, 1);
        vm.prank(provider1);
        anchorContract.anchorJobRecords(jobId, ROOT, 1);
    }

    function test_RevertWhen_JobDoesNotExist() public {
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(AuditAnchor.AuditAnchorNotJobParticipant.selector, 0, requester));
        anchorContract.anchorJobRecords(0, ROOT, 1);
    }

    function test_RevertWhen_RemovedMemberAnchorsItsJobRecords() public {
        uint256 jobId = _readyJob();
        _govern(address(consortium), abi.encodeCall(Consortium.removeMember, (provider1)));
        assertTrue(ledger.isParticipant(jobId, provider1), "still a participant of the job");
        vm.prank(provider1);
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernedUnauthorizedMember.selector, provider1, 0));
        anchorContract.anchorJobRecords(jobId, ROOT, 1);
    }

    function test_RevertWhen_ParticipantExceedsTheBatchLimitOfAJob() public {
        uint256 jobId = _readyJob();
        uint256 limit = anchorContract.MAX_JOB_BATCHES();
        vm.startPrank(provider1);
        for (uint256 i = 0; i < limit; ++i) {
            anchorContract.anchorJobRecords(jobId, ROOT, 1);
        }
        vm.expectRevert(
            abi.encodeWithSelector(AuditAnchor.AuditAnchorJobBatchLimit.selector, jobId, provider1, limit)
        );
        anchorContract.anchorJobRecords(jobId, ROOT, 1);
        vm.stopPrank();
        assertEq(_jobBatches(provider1, jobId).length, limit, "the limit, no more");
        vm.prank(provider2); // the limit is per (member, job): another participant is not crowded out
        anchorContract.anchorJobRecords(jobId, ROOT, 1);
    }

    function test_RevertWhen_AuditorUsesAJobRecordsTagToBypassTheLimit() public {
        uint256 jobId = _readyJob();
        bytes32 tag = anchorContract.jobRecordsTag(jobId);
        vm.prank(compute2); // COMPUTE | AUDITOR, and a participant of the job
        vm.expectRevert(abi.encodeWithSelector(AuditAnchor.AuditAnchorReservedTag.selector, tag));
        anchorContract.anchor(ROOT, 1, tag);
    }

    function test_RevertWhen_JobRecordsBatchIsEmpty() public {
        uint256 jobId = _readyJob();
        vm.startPrank(requester);
        vm.expectRevert(abi.encodeWithSelector(AuditAnchor.AuditAnchorInvalidBatch.selector, bytes32(0), 1));
        anchorContract.anchorJobRecords(jobId, 0, 1);
        vm.expectRevert(abi.encodeWithSelector(AuditAnchor.AuditAnchorInvalidBatch.selector, ROOT, 0));
        anchorContract.anchorJobRecords(jobId, ROOT, 0);
        vm.stopPrank();
    }

    function test_RevertWhen_PlainMemberAnchorsOutsideAJob() public {
        vm.prank(provider1);
        vm.expectRevert(abi.encodeWithSelector(AuditAnchor.AuditAnchorNotAuditor.selector, provider1));
        anchorContract.anchor(ROOT, 1, bytes32("transcript"));
    }

    function test_RevertWhen_ConstructedWithoutJobLedger() public {
        vm.expectRevert(Governed.GovernedZeroAddress.selector);
        new AuditAnchor(address(consortium), address(0));
    }

    function test_JobLedgerIsTheOneItWasDeployedWith() public view {
        assertEq(anchorContract.jobLedger(), address(ledger), "wiring");
    }
}
