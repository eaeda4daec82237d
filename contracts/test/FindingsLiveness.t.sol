// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {CustosFixture} from "./fixtures/CustosFixture.sol";
import {JobLiveness} from "../src/base/JobLiveness.sol";
import {JobRecords} from "../src/base/JobRecords.sol";
import {JobTypes} from "../src/base/JobTypes.sol";

/// @notice Regression tests of the contracts review, F1: a job whose attester goes silent after
/// commit still ends (escalation, resolution, default). Each is named after what it proves
/// (scripts/findings_old_vs_new.py proves the findings on the old contracts). The fixture's job:
/// provider1 at 10, provider2 at 20, budget 1000, compute1 and compute2, weights 3:1, fee 10%,
/// challenge window 1 day.
contract FindingsLivenessTest is CustosFixture {
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
        _govern(address(ledger), abi.encodeCall(JobLiveness.resolveDispute, (jobId, true)));
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
        uint256 id = consortium.propose(address(ledger), abi.encodeCall(JobLiveness.resolveDispute, (jobId, true)), "");
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
}
