// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ProofBase} from "./ProofBase.sol";

/// @notice F7: tokens sent straight to Settlement are lost and break "escrow + credits = balance".
contract ProofF7 is ProofBase {
    function test_F7_TokensSentToSettlementBreakTheEscrowInvariantAndCannotBeSwept() public {
        _readyJob();
        vm.prank(provider1);
        token.transfer(address(settlement), 5 ether); // by mistake
        uint256 held = token.balanceOf(address(settlement));
        assertTrue(held != settlement.totalEscrowed() + settlement.totalCredits(), "escrow + credits != balance");
        bytes memory sweep = abi.encodeWithSignature("sweep(address,address,uint256)", token, provider1, 5 ether);
        assertTrue(_governanceFails(address(settlement), sweep), "governance cannot sweep them back");
    }
}
