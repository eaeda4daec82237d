// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ProofBase} from "./ProofBase.sol";
import {Consortium} from "../../src/Consortium.sol";

/// @notice F3: no upper bound on the proposal TTL.
contract ProofF3 is ProofBase {
    function test_F3_MaxProposalTtlMakesEveryLaterProposeOverflowSoGovernanceIsBricked() public {
        _govern(address(consortium), abi.encodeCall(Consortium.setProposalTtl, (type(uint64).max)));
        bytes memory undo = abi.encodeCall(Consortium.setProposalTtl, (TTL));
        address[] memory accounts = _members();
        for (uint256 i = 0; i < accounts.length; ++i) {
            bytes memory call = abi.encodeCall(Consortium.propose, (address(consortium), undo, "undo"));
            assertTrue(_reverts(accounts[i], address(consortium), call), "propose overflows for every member");
        }
    }
}
