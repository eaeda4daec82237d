// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {CustosFixture} from "../fixtures/CustosFixture.sol";

/// @notice The old `openJob` (before commit d595ba5): it has no price bound, so the requester's
/// `maxTotalPrice` cannot be stated and is dropped.
abstract contract OpenAdapter is CustosFixture {
    function _openAt(uint256[] memory sourceIds, uint256 budget, uint256) internal returns (uint256 jobId) {
        address[] memory parties = new address[](2);
        (parties[0], parties[1]) = (compute1, compute2);
        vm.startPrank(requester);
        token.approve(address(settlement), budget);
        jobId = ledger.openJob(FEDAVG, sourceIds, keccak256("params"), parties, budget, uint64(block.timestamp + 7 days));
        vm.stopPrank();
    }
}
