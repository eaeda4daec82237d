// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {CustosFixture} from "./fixtures/CustosFixture.sol";
import {Consortium} from "../src/Consortium.sol";
import {Membership} from "../src/base/Membership.sol";

contract ConsortiumTest is CustosFixture {
    address private newcomer = address(0xC0FFEE);

    function test_BootstrapSetsMembersRolesThresholdAndTtl() public view {
        assertEq(consortium.memberCount(), 6, "members");
        assertEq(consortium.threshold(), 3, "threshold");
        assertEq(uint256(consortium.proposalTtl()), TTL, "ttl");
        assertTrue(consortium.hasRoles(provider2, PROVIDER | REQUESTER), "provider2 roles");
        assertFalse(consortium.hasRoles(provider1, REQUESTER), "provider1 is no requester");
        assertEq(consortium.member(compute1).name, "Arbiter");
        assertEq(consortium.members().length, 6, "member list");
    }

    function assertEq(string memory a, string memory b) internal pure {
        assertEq(keccak256(bytes(a)), keccak256(bytes(b)), "string");
    }

    function test_TransactionAllowedOnlyForActiveMembers() public {
        assertTrue(consortium.transactionAllowed(requester, address(ledger), 0, 1, 21000, ""), "member");
        assertFalse(consortium.transactionAllowed(outsider, address(ledger), 0, 1, 21000, ""), "outsider");
        _govern(address(consortium), abi.encodeCall(Consortium.removeMember, (auditor)));
        assertFalse(consortium.transactionAllowed(auditor, address(0), 0, 0, 0, ""), "removed member");
    }

    function test_ProposalAddsMemberAfterThresholdApprovals() public {
        bytes memory data = abi.encodeCall(Consortium.addMember, (newcomer, AUDITOR, "Newcomer"));
        vm.prank(requester);
        uint256 id = consortium.propose(address(consortium), data, "admit newcomer");
        assertEq(consortium.approvalCount(id), 1, "proposer approves");
        assertTrue(consortium.hasApproved(id, requester), "approved");
        vm.prank(provider1);
        consortium.approve(id);
        vm.prank(provider2);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ConsortiumBelowThreshold.selector, id, 2, 3));
        consortium.execute(id);
        vm.prank(provider2);
        consortium.approve(id);
        vm.prank(compute1);
        consortium.execute(id);
        assertTrue(consortium.isMember(newcomer), "newcomer admitted");
        assertTrue(consortium.proposal(id).executed, "executed");
        assertEq(consortium.proposalCount(), 1, "count");
    }

    function test_GovernanceChangesRolesThresholdAndTtl() public {
        _govern(address(consortium), abi.encodeCall(Consortium.setRoles, (auditor, AUDITOR)));
        assertFalse(consortium.hasRoles(auditor, VALIDATOR), "validator role dropped");
        _govern(address(consortium), abi.encodeCall(Consortium.setThreshold, (4)));
        assertEq(consortium.threshold(), 4, "threshold");
        _govern(address(consortium), abi.encodeCall(Consortium.setProposalTtl, (1 hours)));
        assertEq(uint256(consortium.proposalTtl()), 1 hours, "ttl");
    }

    function test_RemovedMembersApprovalNoLongerCounts() public {
        vm.prank(requester);
        uint256 id = consortium.propose(address(consortium), abi.encodeCall(Consortium.setThreshold, (2)), "");
        vm.prank(auditor);
        consortium.approve(id);
        _govern(address(consortium), abi.encodeCall(Consortium.removeMember, (auditor)));
        assertEq(consortium.approvalCount(id), 1, "auditor's approval dropped");
    }

    function test_SetEndpointPublishesTransportKey() public {
        vm.prank(compute1);
        consortium.setEndpoint(bytes32(uint256(7)), "https://arbiter.example");
        assertEq(consortium.member(compute1).transportKey, bytes32(uint256(7)), "key");
    }

    function test_RevertWhen_OutsiderSetsEndpoint() public {
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(Membership.ConsortiumNotMember.selector, outsider));
        consortium.setEndpoint(bytes32(0), "");
    }

    function test_RevertWhen_BootstrapIsEmptyOrMisaligned() public {
        address[] memory none = new address[](0);
        vm.expectRevert(Consortium.ConsortiumInvalidBootstrap.selector);
        new Consortium(none, new uint8[](0), new string[](0), 1, TTL);
        vm.expectRevert(Consortium.ConsortiumInvalidBootstrap.selector);
        new Consortium(_members(), new uint8[](1), new string[](6), 1, TTL);
    }

    function test_RevertWhen_BootstrapThresholdOutOfRange() public {
        address[] memory one = new address[](1);
        one[0] = requester;
        uint8[] memory roles = new uint8[](1);
        roles[0] = REQUESTER;
        vm.expectRevert(abi.encodeWithSelector(Consortium.ConsortiumInvalidThreshold.selector, 2, 1));
        new Consortium(one, roles, new string[](1), 2, TTL);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ConsortiumInvalidThreshold.selector, 0, 1));
        new Consortium(one, roles, new string[](1), 0, TTL);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ConsortiumInvalidTtl.selector, 0));
        new Consortium(one, roles, new string[](1), 1, 0);
    }

    function test_RevertWhen_BootstrapHasDuplicateZeroOrRolelessMember() public {
        address[] memory two = new address[](2);
        (two[0], two[1]) = (requester, requester);
        uint8[] memory roles = new uint8[](2);
        (roles[0], roles[1]) = (REQUESTER, REQUESTER);
        vm.expectRevert(abi.encodeWithSelector(Membership.ConsortiumAlreadyMember.selector, requester));
        new Consortium(two, roles, new string[](2), 1, TTL);
        two[1] = address(0);
        vm.expectRevert(Membership.ConsortiumZeroMember.selector);
        new Consortium(two, roles, new string[](2), 1, TTL);
        two[1] = auditor;
        roles[1] = 0;
        vm.expectRevert(abi.encodeWithSelector(Membership.ConsortiumInvalidRoles.selector, 0));
        new Consortium(two, roles, new string[](2), 1, TTL);
        roles[1] = 32;
        vm.expectRevert(abi.encodeWithSelector(Membership.ConsortiumInvalidRoles.selector, 32));
        new Consortium(two, roles, new string[](2), 1, TTL);
    }

    function test_RevertWhen_AdminFunctionsCalledDirectly() public {
        bytes memory err = abi.encodeWithSelector(Consortium.ConsortiumOnlyGovernance.selector, requester);
        vm.startPrank(requester);
        vm.expectRevert(err);
        consortium.addMember(newcomer, AUDITOR, "x");
        vm.expectRevert(err);
        consortium.removeMember(auditor);
        vm.expectRevert(err);
        consortium.setRoles(auditor, AUDITOR);
        vm.expectRevert(err);
        consortium.setThreshold(1);
        vm.expectRevert(err);
        consortium.setProposalTtl(1);
        vm.stopPrank();
    }

    function test_RevertWhen_OutsiderProposesApprovesOrExecutes() public {
        bytes memory err = abi.encodeWithSelector(Membership.ConsortiumNotMember.selector, outsider);
        vm.startPrank(outsider);
        vm.expectRevert(err);
        consortium.propose(address(consortium), "", "");
        vm.expectRevert(err);
        consortium.approve(0);
        vm.expectRevert(err);
        consortium.execute(0);
        vm.stopPrank();
    }

    function test_RevertWhen_ProposalTargetHasNoCode() public {
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ConsortiumInvalidTarget.selector, newcomer));
        consortium.propose(newcomer, "", "");
    }

    function test_RevertWhen_ProposalUnknown() public {
        vm.startPrank(requester);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ConsortiumUnknownProposal.selector, 9));
        consortium.approve(9);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ConsortiumUnknownProposal.selector, 9));
        consortium.approvalCount(9);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ConsortiumUnknownProposal.selector, 9));
        consortium.proposal(9);
        vm.stopPrank();
    }

    function test_RevertWhen_ApprovingTwice() public {
        vm.startPrank(requester);
        uint256 id = consortium.propose(address(consortium), abi.encodeCall(Consortium.setThreshold, (2)), "");
        vm.expectRevert(abi.encodeWithSelector(Consortium.ConsortiumAlreadyApproved.selector, id, requester));
        consortium.approve(id);
        vm.stopPrank();
    }

    function test_RevertWhen_ProposalExpired() public {
        vm.prank(requester);
        uint256 id = consortium.propose(address(consortium), abi.encodeCall(Consortium.setThreshold, (2)), "");
        uint64 expiresAt = consortium.proposal(id).expiresAt;
        vm.warp(expiresAt);
        vm.prank(provider1);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ConsortiumProposalExpired.selector, id, expiresAt));
        consortium.approve(id);
    }

    function test_RevertWhen_ProposalExecutedTwice() public {
        _govern(address(consortium), abi.encodeCall(Consortium.setThreshold, (2)));
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ConsortiumProposalExecuted.selector, 0));
        consortium.execute(0);
    }

    function test_RevertWhen_ExecutedCallFailsWithTargetError() public {
        vm.prank(requester);
        uint256 id = consortium.propose(address(consortium), abi.encodeCall(Consortium.setThreshold, (7)), "");
        vm.prank(provider1);
        consortium.approve(id);
        vm.prank(provider2);
        consortium.approve(id);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ConsortiumInvalidThreshold.selector, 7, 6));
        consortium.execute(id);
    }

    function test_RevertWhen_RemovalMakesThresholdUnreachable() public {
        _govern(address(consortium), abi.encodeCall(Consortium.setThreshold, (6)));
        vm.prank(requester);
        uint256 id = consortium.propose(address(consortium), abi.encodeCall(Consortium.removeMember, (auditor)), "");
        address[] memory accounts = _members();
        for (uint256 i = 1; i < 6; ++i) {
            vm.prank(accounts[i]);
            consortium.approve(id);
        }
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ConsortiumInvalidThreshold.selector, 6, 5));
        consortium.execute(id);
    }

    function test_RevertWhen_GovernanceRemovesOrRetitlesNonMember() public {
        vm.prank(requester);
        uint256 id = consortium.propose(address(consortium), abi.encodeCall(Consortium.setRoles, (newcomer, 1)), "");
        vm.prank(provider1);
        consortium.approve(id);
        vm.prank(provider2);
        consortium.approve(id);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Membership.ConsortiumNotMember.selector, newcomer));
        consortium.execute(id);
    }
}
