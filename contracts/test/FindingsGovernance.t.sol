// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {CustosFixture} from "./fixtures/CustosFixture.sol";
import {Consortium} from "../src/Consortium.sol";
import {CustosToken} from "../src/CustosToken.sol";
import {Settlement} from "../src/Settlement.sol";
import {AuditAnchor} from "../src/AuditAnchor.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @notice Regression tests of the contracts review, F7 and the "also" items: stray tokens swept,
/// allowances, approvals, proposals, timelock, anchoring, key rotation. Each is named after what it
/// proves (scripts/findings_old_vs_new.py proves the findings on the old contracts). The fixture's
/// job: provider1 at 10, provider2 at 20, budget 1000, compute1 and compute2, weights 3:1, fee 10%,
/// challenge window 1 day.
contract FindingsGovernanceTest is CustosFixture {
    uint256 private constant BUDGET = 1000 ether;

    // ---- F7: tokens sent to Settlement by mistake are accounted and swept ----

    function test_F7_TokensSentToSettlementAreStrayAndOnlyTheStrayPartIsSwept() public {
        uint256 jobId = _readyJob();
        vm.prank(requester);
        token.transfer(address(settlement), 5 ether);
        assertEq(settlement.strayBalance(), 5 ether, "stray accounted");
        vm.prank(address(consortium));
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementSweepTooLarge.selector, 6 ether, 5 ether));
        settlement.sweep(IERC20(address(token)), requester, 6 ether);
        _govern(address(settlement), abi.encodeCall(Settlement.sweep, (IERC20(address(token)), requester, 5 ether)));
        assertEq(settlement.strayBalance(), 0, "swept");
        assertEq(settlement.escrowOf(jobId), BUDGET, "escrow untouched");
        assertEq(token.balanceOf(address(settlement)), settlement.totalEscrowed() + settlement.totalCredits(), "balance");
    }

    // ---- also: allowances, approvals, proposals, timelock, anchoring ----

    function test_Also_OutsiderCannotBeGrantedOrSpendAnAllowance() public {
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(CustosToken.CustosTokenOutsider.selector, outsider));
        token.approve(outsider, 1 ether);
        vm.prank(requester);
        token.approve(auditor, 1 ether);
        _govern(address(consortium), abi.encodeCall(Consortium.removeMember, (auditor)));
        vm.prank(auditor);
        vm.expectRevert(abi.encodeWithSelector(CustosToken.CustosTokenOutsider.selector, auditor));
        token.transferFrom(requester, provider1, 1 ether);
    }

    function test_Also_ReadmittedMembersOldApprovalDoesNotCount() public {
        vm.prank(requester);
        uint256 id = consortium.propose(address(consortium), abi.encodeCall(Consortium.setThreshold, (2)), "");
        vm.prank(auditor);
        consortium.approve(id);
        _govern(address(consortium), abi.encodeCall(Consortium.removeMember, (auditor)));
        _govern(address(consortium), abi.encodeCall(Consortium.addMember, (auditor, AUDITOR, "Regulator")));
        assertEq(consortium.approvalCount(id), 1, "the old approval does not come back");
        assertFalse(consortium.hasApproved(id, auditor), "not approved in this epoch");
        vm.prank(auditor);
        consortium.approve(id);
        assertEq(consortium.approvalCount(id), 2, "a fresh approval counts");
    }

    function test_Also_ProposerCancelsAndAMemberRevokesItsApproval() public {
        vm.prank(requester);
        uint256 id = consortium.propose(address(consortium), abi.encodeCall(Consortium.setThreshold, (2)), "");
        vm.prank(provider1);
        consortium.approve(id);
        vm.prank(provider1);
        consortium.revoke(id);
        assertEq(consortium.approvalCount(id), 1, "revoked");
        vm.prank(provider1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ConsortiumNotProposer.selector, id, provider1));
        consortium.cancel(id);
        vm.prank(requester);
        consortium.cancel(id);
        vm.prank(provider2);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ConsortiumProposalCancelled.selector, id));
        consortium.approve(id);
    }

    function test_Also_TimelockedMintWaitsItsDelayAfterTheThreshold() public {
        _govern(address(consortium), abi.encodeCall(Consortium.setDelay, (CustosToken.mint.selector, 2 days)));
        vm.prank(requester);
        uint256 id = consortium.propose(address(token), abi.encodeCall(CustosToken.mint, (requester, 1)), "");
        vm.prank(provider1);
        consortium.approve(id);
        vm.prank(provider2);
        consortium.approve(id);
        uint64 executableAt = uint64(block.timestamp + 2 days);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ConsortiumTimelocked.selector, id, executableAt));
        consortium.execute(id);
        vm.warp(executableAt);
        vm.prank(requester);
        consortium.execute(id);
        assertEq(token.balanceOf(requester), ALLOCATION + 1, "minted after the delay");
    }

    function test_Also_AnchoringNeedsAuditorOrValidatorAndTagsAreNamespacedBySender() public {
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(AuditAnchor.AuditAnchorNotAuditor.selector, requester));
        anchorContract.anchor(bytes32(uint256(1)), 1, "t");
        vm.prank(auditor);
        uint256 mine = anchorContract.anchor(bytes32(uint256(1)), 1, "t");
        vm.prank(compute2);
        anchorContract.anchor(bytes32(uint256(2)), 1, "t");
        uint256[] memory auditorsT = anchorContract.batchesOf(auditor, "t");
        assertEq(auditorsT.length, 1, "compute2's batch is not in the auditor's namespace");
        assertEq(auditorsT[0], mine, "the auditor's own batch");
    }

    function test_Also_KeyRotationMovesRolesCreditsSourcesAndTokensToTheSuccessor() public {
        uint256 jobId = _finalizedJob();
        uint256 credit = settlement.creditOf(provider1);
        (uint256[] memory ids,,,) = ledger.jobSources(jobId);
        address successor = vm.addr(0xA7);
        _govern(address(consortium), abi.encodeCall(Consortium.rotateMember, (provider1, successor)));
        assertFalse(consortium.isMember(provider1), "the old key is out");
        assertEq(uint256(consortium.member(successor).roles), uint256(PROVIDER), "roles moved");
        assertEq(consortium.successorOf(provider1), successor, "successor recorded");
        vm.prank(outsider);
        vm.expectRevert();
        settlement.claimCredits(provider1);
        vm.startPrank(successor);
        settlement.claimCredits(provider1);
        registry.claimSource(ids[0]);
        token.claimBalance(provider1);
        vm.stopPrank();
        assertEq(settlement.creditOf(successor), credit, "credits moved");
        assertEq(settlement.creditOf(provider1), 0, "nothing left behind");
        assertEq(registry.source(ids[0]).owner, successor, "source moved");
        assertEq(token.balanceOf(successor), ALLOCATION, "tokens moved");
        vm.prank(successor);
        registry.updateCommitment(ids[0], keccak256("rows-v2"), 10);
    }
}
