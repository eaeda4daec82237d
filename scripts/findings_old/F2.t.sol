// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ProofBase} from "./ProofBase.sol";
import {Settlement} from "../../src/Settlement.sol";

/// @notice F2 (medium): the fee and the challenge window are read when the job settles.
contract ProofF2 is ProofBase {
    function test_F2_FeeRaisedToAllAfterFullAttestationCutsTheProvidersToTheirPrices() public {
        uint256 jobId = _committedJob(); // opened at a 10% fee: provider1 would get 664.75
        _attestAllBut(jobId, 0);
        _govern(address(settlement), abi.encodeCall(Settlement.setFeeBps, (10_000)));
        vm.warp(block.timestamp + WINDOW);
        vm.prank(auditor);
        ledger.finalize(jobId);
        assertEq(settlement.creditOf(provider1), 10 ether, "provider1 gets its price only");
        assertEq(settlement.creditOf(provider2), 20 ether, "provider2 gets its price only");
    }

    function test_F2_WindowSetToZeroMidWindowBlocksAPendingDispute() public {
        uint256 jobId = _committedJob();
        vm.warp(block.timestamp + WINDOW / 2);
        // By signature: today's JobLedger inherits these from its bases, and `JobLedger.f` names only its own.
        _govern(address(ledger), abi.encodeWithSignature("setChallengeWindow(uint64)", uint64(0)));
        assertTrue(
            _reverts(provider1, address(ledger), abi.encodeWithSignature("dispute(uint256,bytes32)", jobId, bytes32("bad result"))),
            "a dispute inside the window the job opened with is refused"
        );
    }
}
