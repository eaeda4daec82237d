// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {CustosFixture} from "./fixtures/CustosFixture.sol";
import {AuditAnchor} from "../src/AuditAnchor.sol";
import {Governed} from "../src/base/Governed.sol";

contract AuditAnchorTest is CustosFixture {
    function _leaf(bytes memory record) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(record)));
    }

    function _pair(bytes32 a, bytes32 b) private pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    function test_AnchorStoresBatchAndProvesRecords() public {
        bytes32 a = _leaf("record-a");
        bytes32 b = _leaf("record-b");
        bytes32 root = _pair(a, b);
        vm.prank(auditor);
        uint256 id = anchorContract.anchor(root, 2, bytes32("transcript"));
        AuditAnchor.Batch memory stored = anchorContract.batch(id);
        assertEq(stored.root, root, "root");
        assertEq(stored.anchoredBy, auditor, "anchoredBy");
        assertEq(anchorContract.batchCount(), 1, "count");
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = b;
        assertTrue(anchorContract.verifyRecord(id, proof, a), "a is in the batch");
        assertFalse(anchorContract.verifyRecord(id, proof, _leaf("forged")), "forged record is not");
    }

    function test_RevertWhen_OutsiderAnchors() public {
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernedUnauthorizedMember.selector, outsider, 0));
        anchorContract.anchor(bytes32(uint256(1)), 1, 0);
    }

    function test_RevertWhen_BatchIsEmpty() public {
        vm.startPrank(auditor);
        vm.expectRevert(abi.encodeWithSelector(AuditAnchor.AuditAnchorInvalidBatch.selector, bytes32(0), 1));
        anchorContract.anchor(bytes32(0), 1, 0);
        vm.expectRevert(abi.encodeWithSelector(AuditAnchor.AuditAnchorInvalidBatch.selector, bytes32(uint256(1)), 0));
        anchorContract.anchor(bytes32(uint256(1)), 0, 0);
        vm.stopPrank();
    }

    function test_RevertWhen_BatchUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(AuditAnchor.AuditAnchorUnknownBatch.selector, 0));
        anchorContract.batch(0);
        vm.expectRevert(abi.encodeWithSelector(AuditAnchor.AuditAnchorUnknownBatch.selector, 0));
        anchorContract.verifyRecord(0, new bytes32[](0), 0);
    }

    function test_RevertWhen_ConstructedWithoutConsortium() public {
        vm.expectRevert(Governed.GovernedZeroAddress.selector);
        new AuditAnchor(address(0), address(ledger));
    }
}
