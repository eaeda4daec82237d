// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {CustosFixture} from "./fixtures/CustosFixture.sol";
import {CustosToken} from "../src/CustosToken.sol";
import {Governed} from "../src/base/Governed.sol";

contract CustosTokenTest is CustosFixture {
    function test_BootstrapAllocationIsMinted() public view {
        assertEq(token.balanceOf(requester), ALLOCATION, "requester allocation");
        assertEq(token.totalSupply(), 6 * ALLOCATION, "supply");
        assertEq(token.settlement(), address(settlement), "settlement");
        assertEq(token.consortium(), address(consortium), "consortium");
    }

    function test_GovernanceMints() public {
        _govern(address(token), abi.encodeCall(CustosToken.mint, (auditor, 5)));
        assertEq(token.balanceOf(auditor), ALLOCATION + 5, "minted");
    }

    function test_MembersTransferToEachOther() public {
        vm.prank(requester);
        token.transfer(provider1, 7);
        assertEq(token.balanceOf(provider1), ALLOCATION + 7, "received");
    }

    function test_PermitSetsAllowanceFromSignature() public {
        bytes32 digest = _permitDigest(REQUESTER_KEY, address(settlement), 100, block.timestamp + 1);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(REQUESTER_KEY, digest);
        token.permit(requester, address(settlement), 100, block.timestamp + 1, v, r, s);
        assertEq(token.allowance(requester, address(settlement)), 100, "allowance");
    }

    function _permitDigest(uint256 key, address spender, uint256 value, uint256 deadline)
        internal
        view
        returns (bytes32)
    {
        address owner = vm.addr(key);
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                owner,
                spender,
                value,
                token.nonces(owner),
                deadline
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
    }

    function test_RevertWhen_MintCalledDirectly() public {
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernedOnlyGovernance.selector, requester));
        token.mint(requester, 1);
    }

    function test_RevertWhen_TransferToOutsider() public {
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(CustosToken.CustosTokenOutsider.selector, outsider));
        token.transfer(outsider, 1);
    }

    function test_RevertWhen_GovernanceMintsToOutsider() public {
        vm.prank(requester);
        uint256 id = consortium.propose(address(token), abi.encodeCall(CustosToken.mint, (outsider, 1)), "");
        vm.prank(provider1);
        consortium.approve(id);
        vm.prank(provider2);
        consortium.approve(id);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(CustosToken.CustosTokenOutsider.selector, outsider));
        consortium.execute(id);
    }

    function test_RevertWhen_AllocationMisaligned() public {
        vm.expectRevert(CustosToken.CustosTokenInvalidAllocation.selector);
        new CustosToken(address(consortium), address(settlement), _members(), new uint256[](1));
    }

    function test_RevertWhen_ConstructedWithZeroAddresses() public {
        vm.expectRevert(Governed.GovernedZeroAddress.selector);
        new CustosToken(address(consortium), address(0), new address[](0), new uint256[](0));
        vm.expectRevert(Governed.GovernedZeroAddress.selector);
        new CustosToken(address(0), address(settlement), new address[](0), new uint256[](0));
    }
}
