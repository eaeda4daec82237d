// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {CustosFixture} from "./fixtures/CustosFixture.sol";
import {JobLiveness} from "../src/base/JobLiveness.sol";
import {JobWindows} from "../src/base/JobWindows.sol";
import {JobRecords} from "../src/base/JobRecords.sol";
import {JobTypes} from "../src/base/JobTypes.sol";

contract JobLedgerTest is CustosFixture {
    function test_OpenEscrowsBudgetAndRecordsInputs() public {
        uint256 a = _register(provider1, 10 ether);
        uint256 b = _register(provider2, 20 ether);
        uint256 jobId = _open(_ids(a, b), 1000 ether);
        JobTypes.Job memory job = ledger.job(jobId);
        assertEq(job.requester, requester, "requester");
        assertEq(uint256(job.status), uint256(JobTypes.Status.Open), "open");
        assertEq(settlement.escrowOf(jobId), 1000 ether, "escrow");
        uint64[] memory versions = new uint64[](2);
        (versions[0], versions[1]) = (1, 1);
        bytes32[] memory commitments = new bytes32[](2);
        (commitments[0], commitments[1]) = (keccak256("rows-v1"), keccak256("rows-v1"));
        assertEq(job.inputsHash, keccak256(abi.encode(_ids(a, b), versions, commitments)), "inputsHash");
        (,, address[] memory attesters) = ledger.jobParties(jobId);
        assertEq(attesters.length, 4, "two owners and two compute parties attest");
        assertTrue(ledger.isParticipant(jobId, requester), "requester participates");
        assertEq(ledger.jobCount(), 1, "count");
    }

    function test_ConsentMakesJobReady() public {
        uint256 jobId = _readyJob();
        assertEq(uint256(_status(jobId)), uint256(JobTypes.Status.Ready), "ready");
        assertTrue(ledger.hasConsented(jobId, 0), "consented");
    }

    function test_AutoConsentPolicyConsentsAtOpening() public {
        vm.startPrank(provider1);
        uint256 id = registry.registerSource(_spec(0, 1 << FEDAVG));
        registry.setAutoConsent(id, requester, true);
        vm.stopPrank();
        uint256[] memory ids = new uint256[](1);
        ids[0] = id;
        uint256 jobId = _open(ids, 1);
        assertEq(uint256(_status(jobId)), uint256(JobTypes.Status.Ready), "ready at opening");
    }

    function test_OpenWithPermitInOneTransaction() public {
        uint256 a = _register(provider1, 1);
        uint256[] memory ids = new uint256[](1);
        ids[0] = a;
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                requester, address(settlement), 50, token.nonces(requester), block.timestamp + 1
            )
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(REQUESTER_KEY, digest);
        vm.prank(requester);
        uint256 jobId = ledger.openJobWithPermit(
            PSI, ids, bytes32(0), _computeParties(), 50, 50, uint64(block.timestamp + 1 days),
            JobTypes.Permit(block.timestamp + 1, v, r, s)
        );
        assertEq(settlement.escrowOf(jobId), 50, "escrowed via permit");
    }

    function test_CommitRecordsContributionHash() public {
        uint256 jobId = _committedJob();
        JobTypes.Job memory job = ledger.job(jobId);
        assertEq(job.contributionHash, keccak256(abi.encode(_weights(3, 1), keccak256("utility"))), "hash");
        assertEq(uint256(job.status), uint256(JobTypes.Status.Committed), "committed");
    }

    function test_FinalizePaysByRule() public {
        uint256 before = token.balanceOf(provider1);
        uint256 jobId = _finalizedJob();
        assertEq(uint256(_status(jobId)), uint256(JobTypes.Status.Finalized), "finalized");
        // pool 970, fee 97 (48.5 each), rest 873 by weights 3:1.
        assertEq(settlement.creditOf(provider1), 10 ether + 654.75 ether, "provider1");
        assertEq(settlement.creditOf(provider2), 20 ether + 218.25 ether, "provider2");
        assertEq(settlement.creditOf(compute1), 48.5 ether, "compute1");
        assertEq(settlement.creditOf(compute2), 48.5 ether, "compute2");
        vm.prank(provider1);
        settlement.withdraw();
        assertEq(token.balanceOf(provider1), before + 664.75 ether, "withdrawn");
    }

    function test_DisputeFreezesAndGovernanceRefunds() public {
        uint256 jobId = _committedJob();
        vm.prank(provider2);
        ledger.dispute(jobId, keccak256("evidence"));
        assertEq(uint256(_status(jobId)), uint256(JobTypes.Status.Disputed), "disputed");
        vm.warp(block.timestamp + WINDOW);
        vm.prank(auditor);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerWrongStatus.selector, jobId, JobTypes.Status.Disputed));
        ledger.finalize(jobId);
        _govern(address(ledger), abi.encodeCall(JobLiveness.resolveDispute, (jobId, false)));
        assertEq(uint256(_status(jobId)), uint256(JobTypes.Status.Refunded), "refunded");
        assertEq(settlement.creditOf(requester), 1000 ether, "requester refunded");
    }

    function test_DisputeReleasedByGovernancePays() public {
        uint256 jobId = _committedJob();
        vm.prank(requester);
        ledger.dispute(jobId, keccak256("evidence"));
        _govern(address(ledger), abi.encodeCall(JobLiveness.resolveDispute, (jobId, true)));
        assertEq(uint256(_status(jobId)), uint256(JobTypes.Status.Finalized), "finalized");
        assertEq(settlement.totalCredits(), 1000 ether, "whole escrow credited");
    }

    function test_CancelOfReadyJobAfterDeadlinePaysPricesThenRefunds() public {
        uint256 jobId = _readyJob();
        vm.warp(ledger.job(jobId).deadline + 1);
        vm.prank(requester);
        ledger.cancel(jobId);
        assertEq(uint256(_status(jobId)), uint256(JobTypes.Status.Cancelled), "cancelled");
        assertEq(settlement.creditOf(requester), 970 ether, "refund after prices");
        assertEq(settlement.creditOf(provider1), 10 ether, "provider1's price");
        assertEq(settlement.creditOf(provider2), 20 ether, "provider2's price");
    }

    function test_AbortOfReadyJobByComputePartyPaysPricesThenRefunds() public {
        uint256 jobId = _readyJob();
        vm.prank(compute2);
        ledger.abort(jobId, "node down");
        assertEq(uint256(_status(jobId)), uint256(JobTypes.Status.Aborted), "aborted");
        assertEq(settlement.creditOf(requester), 970 ether, "refund after prices");
        assertEq(settlement.creditOf(compute2), 0, "the aborter earns nothing");
    }

    function test_AbortOfOpenJobRefundsEverything() public {
        uint256[] memory ids = _ids(_register(provider1, 10 ether), _register(provider2, 20 ether));
        uint256 jobId = _open(ids, 1000 ether);
        vm.prank(requester);
        ledger.abort(jobId, "changed my mind");
        assertEq(settlement.creditOf(requester), 1000 ether, "full refund while Open");
    }

    function test_GovernanceSetsChallengeWindow() public {
        _govern(address(ledger), abi.encodeCall(JobWindows.setChallengeWindow, (600)));
        assertEq(uint256(ledger.challengeWindow()), 600, "window");
        (address reg, address set) = ledger.wiring();
        assertEq(reg, address(registry), "registry");
        assertEq(set, address(settlement), "settlement");
    }
}
