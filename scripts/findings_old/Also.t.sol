// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ProofBase} from "./ProofBase.sol";
import {Consortium} from "../../src/Consortium.sol";

/// @notice The review's "also" items.
contract ProofAlso is ProofBase {
    function test_Also_OutsiderHoldsAnAllowanceAndMovesMembersTokens() public {
        vm.prank(requester);
        token.approve(outsider, 100 ether);
        vm.prank(outsider);
        token.transferFrom(requester, provider1, 100 ether);
        assertEq(token.balanceOf(provider1), ALLOCATION + 100 ether, "an outsider moved a member's tokens");
    }

    function test_Also_ReadmittedMembersOldApprovalCountsAgain() public {
        vm.prank(provider1);
        uint256 id = consortium.propose(
            address(consortium), abi.encodeCall(Consortium.setRoles, (auditor, AUDITOR)), "approved, then removed"
        );
        _governBy(abi.encodeCall(Consortium.removeMember, (provider1)));
        assertEq(consortium.approvalCount(id), 0, "ignored while removed");
        _governBy(abi.encodeCall(Consortium.addMember, (provider1, PROVIDER, "CardNet")));
        assertEq(consortium.approvalCount(id), 1, "the approval given before the removal counts again");
    }

    /// @dev Governance by requester, provider2 and compute1 (provider1 may be out).
    function _governBy(bytes memory data) private {
        vm.prank(requester);
        uint256 id = consortium.propose(address(consortium), data, "membership");
        vm.prank(provider2);
        consortium.approve(id);
        vm.prank(compute1);
        consortium.approve(id);
        vm.prank(requester);
        consortium.execute(id);
    }

    function test_Also_ProposalsCannotBeCancelledNorApprovalsRevoked() public {
        vm.prank(requester);
        uint256 id = consortium.propose(address(consortium), abi.encodeCall(Consortium.setThreshold, (2)), "lower");
        vm.prank(provider1);
        consortium.approve(id);
        assertTrue(_reverts(provider1, address(consortium), abi.encodeWithSignature("revoke(uint256)", id)), "revoke");
        assertTrue(_reverts(requester, address(consortium), abi.encodeWithSignature("cancel(uint256)", id)), "cancel");
        assertEq(consortium.approvalCount(id), 2, "both approvals stand");
    }

    function test_Also_AMemberWithoutAuditorOrValidatorAnchorsUnderAnotherMembersTag() public {
        bytes32 tag = keccak256("regulator/2026-q4");
        vm.prank(auditor); // AUDITOR | VALIDATOR
        uint256 real = anchorContract.anchor(keccak256("real"), 10, tag);
        vm.prank(requester); // REQUESTER only
        uint256 forged = anchorContract.anchor(keccak256("forged"), 10, tag);
        assertEq(anchorContract.batch(forged).tag, anchorContract.batch(real).tag, "same tag, no role");
    }
}
