// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ProofBase} from "./ProofBase.sol";
import {Consortium} from "../../src/Consortium.sol";
import {DataRegistry} from "../../src/DataRegistry.sol";
import {JobTypes} from "../../src/base/JobTypes.sol";

/// @notice F5: a removed member's source stays usable, and nobody can retire it.
contract ProofF5 is ProofBase {
    function test_F5_RemovedMembersSourceStillOpensJobsByAutoConsentAndNobodyCanRetireIt() public {
        uint256[] memory ids = new uint256[](1);
        vm.startPrank(provider1);
        ids[0] = registry.registerSource(_spec(10 ether, 1 << FEDAVG));
        registry.setAutoConsent(ids[0], requester, true);
        vm.stopPrank();
        _govern(address(consortium), abi.encodeCall(Consortium.removeMember, (provider1)));
        uint256 jobId = _openAt(ids, 1000 ether, 10 ether);
        assertEq(uint256(_status(jobId)), uint256(JobTypes.Status.Ready), "the ex-member's data consented");
        bytes memory retire = abi.encodeCall(DataRegistry.retireSource, (ids[0]));
        assertTrue(_reverts(provider1, address(registry), retire), "the ex-member cannot retire it");
        assertTrue(_governanceFails(address(registry), retire), "governance cannot retire it");
    }
}
