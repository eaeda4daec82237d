// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ProofBase} from "./ProofBase.sol";
import {JobLedger} from "../../src/JobLedger.sol";
import {JobTypes} from "../../src/base/JobTypes.sol";

/// @notice F1 (high): one missing attestation locks the escrow forever.
contract ProofF1 is ProofBase {
    function test_F1_OneSilentAttesterLeavesTheEscrowLockedAYearLaterWithEveryExitReverting() public {
        uint256 jobId = _committedJob();
        _attestAllBut(jobId, COMPUTE2_KEY); // compute2 lost its key
        vm.warp(block.timestamp + 365 days);
        assertTrue(_reverts(requester, address(ledger), abi.encodeCall(JobLedger.finalize, (jobId))), "finalize");
        // By signature: today's JobLedger inherits these from its bases, and `JobLedger.f` names only its own.
        assertTrue(_reverts(requester, address(ledger), abi.encodeWithSignature("dispute(uint256,bytes32)", jobId, bytes32("late"))), "dispute");
        assertTrue(_reverts(requester, address(ledger), abi.encodeWithSignature("cancel(uint256)", jobId)), "cancel");
        assertTrue(_reverts(requester, address(ledger), abi.encodeWithSignature("abort(uint256,bytes32)", jobId, bytes32("stuck"))), "abort");
        assertTrue(_governanceFails(address(ledger), abi.encodeWithSignature("resolveDispute(uint256,bool)", jobId, false)), "resolve");
        // No escalation path either (the fix adds `escalate` after the attestation window).
        assertTrue(_reverts(requester, address(ledger), abi.encodeWithSignature("escalate(uint256)", jobId)), "escalate");
        assertEq(uint256(_status(jobId)), uint256(JobTypes.Status.Committed), "still committed a year later");
        assertEq(settlement.escrowOf(jobId), 1000 ether, "the whole budget still in escrow");
    }

    function test_F1_TheOnlyEscapeWideningTheWindowMakesEveryOtherCommittedJobDisputableAgain() public {
        uint256 stuck = _committedJob();
        _attestAllBut(stuck, COMPUTE2_KEY);
        uint256 settledTerms = _committedJob();
        _attestAllBut(settledTerms, 0);
        vm.warp(block.timestamp + 30 days); // both challenge windows long closed
        _govern(address(ledger), abi.encodeWithSignature("setChallengeWindow(uint64)", uint64(365 days)));
        vm.prank(provider1);
        ledger.dispute(settledTerms, keccak256("reopened")); // a fully attested job is disputable again
        assertEq(uint256(_status(settledTerms)), uint256(JobTypes.Status.Disputed), "reopened");
    }
}
