// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ProofBase} from "./ProofBase.sol";

/// @notice F4 (medium): the requester aborts at any moment before commit, with a full refund.
contract ProofF4 is ProofBase {
    function test_F4_RequesterAbortsAfterReadyWithAFullRefundAndTheOwnersGetNothing() public {
        uint256 jobId = _readyJob(); // the run is under way: the requester has seen the model
        vm.prank(requester);
        ledger.abort(jobId, "seen enough");
        assertEq(settlement.creditOf(requester), 1000 ether, "the whole budget back");
        assertEq(settlement.creditOf(provider1), 0, "provider1 unpaid");
        assertEq(settlement.creditOf(provider2), 0, "provider2 unpaid");
    }
}
