// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {CustosFixture} from "./fixtures/CustosFixture.sol";
import {Consortium} from "../src/Consortium.sol";
import {DataRegistry} from "../src/DataRegistry.sol";
import {JobRecords} from "../src/base/JobRecords.sol";
import {Governed} from "../src/base/Governed.sol";

/// @notice Regression tests of the contracts review, F5, F6: membership and roles checked when each
/// action happens. Each is named after what it proves (scripts/findings_old_vs_new.py proves the
/// findings on the old contracts). The fixture's job: provider1 at 10, provider2 at 20, budget
/// 1000, compute1 and compute2, weights 3:1, fee 10%, challenge window 1 day.
contract FindingsRolesTest is CustosFixture {
    // ---- F5: a removed owner's source is unusable, and governance retires it ----

    function test_F5_RemovedOwnersSourceCannotBeUsedEvenWithAutoConsent() public {
        vm.startPrank(provider1);
        uint256 id = registry.registerSource(_spec(0, 1 << FEDAVG));
        registry.setAutoConsent(id, requester, true);
        vm.stopPrank();
        _govern(address(consortium), abi.encodeCall(Consortium.removeMember, (provider1)));
        assertFalse(registry.isUsableBy(id, requester, FEDAVG), "unusable");
        uint256[] memory ids = new uint256[](1);
        ids[0] = id;
        vm.startPrank(requester);
        token.approve(address(settlement), 1);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerSourceUnavailable.selector, id, requester, FEDAVG));
        ledger.openJob(FEDAVG, ids, 0, _computeParties(), 1, 0, uint64(block.timestamp + 1 days));
        vm.stopPrank();
    }

    function test_F5_GovernanceRetiresARemovedMembersSource() public {
        uint256 id = _register(provider1, 10);
        _govern(address(consortium), abi.encodeCall(Consortium.removeMember, (provider1)));
        vm.prank(requester);
        uint256 p = consortium.propose(address(registry), abi.encodeCall(DataRegistry.retireSource, (id)), "");
        vm.prank(provider2);
        consortium.approve(p);
        vm.prank(compute1);
        consortium.approve(p);
        vm.prank(auditor);
        consortium.execute(p);
        assertFalse(registry.source(id).active, "retired by governance");
    }

    // ---- F6: roles are checked at each action ----

    function test_F6_ComputePartyStrippedOfComputeCannotCommit() public {
        uint256 jobId = _readyJob();
        _govern(address(consortium), abi.encodeCall(Consortium.setRoles, (compute1, AUDITOR)));
        vm.prank(compute1);
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernedUnauthorizedMember.selector, compute1, COMPUTE));
        ledger.commitResult(jobId, 0, 0, _weights(1, 1), 0);
    }

    function test_F6_ProviderStrippedOfProviderCannotUpdateItsCommitment() public {
        uint256 id = _register(provider1, 10);
        _govern(address(consortium), abi.encodeCall(Consortium.setRoles, (provider1, REQUESTER)));
        vm.prank(provider1);
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernedUnauthorizedMember.selector, provider1, PROVIDER));
        registry.updateCommitment(id, keccak256("rows-v2"), 10);
    }
}
