// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ProofBase} from "./ProofBase.sol";
import {Consortium} from "../../src/Consortium.sol";
import {JobTypes} from "../../src/base/JobTypes.sol";

/// @notice F6: roles are checked only at `openJob` and `registerSource`.
contract ProofF6 is ProofBase {
    function test_F6_ComputePartyStrippedOfComputeStillCommits() public {
        uint256 jobId = _readyJob();
        _govern(address(consortium), abi.encodeCall(Consortium.setRoles, (compute1, AUDITOR)));
        vm.prank(compute1);
        ledger.commitResult(jobId, keccak256("result"), keccak256("transcript"), _weights(3, 1), keccak256("utility"));
        assertEq(uint256(_status(jobId)), uint256(JobTypes.Status.Committed), "committed without COMPUTE");
    }

    function test_F6_ProviderStrippedOfProviderStillUpdatesItsCommitment() public {
        uint256 sourceId = _register(provider1, 10 ether);
        _govern(address(consortium), abi.encodeCall(Consortium.setRoles, (provider1, REQUESTER)));
        vm.prank(provider1);
        registry.updateCommitment(sourceId, keccak256("rows-v2"), 2000);
        assertEq(registry.source(sourceId).commitment, keccak256("rows-v2"), "updated without PROVIDER");
    }
}
