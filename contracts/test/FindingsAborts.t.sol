// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {CustosFixture} from "./fixtures/CustosFixture.sol";

/// @notice Regression tests of the contracts review, F4: aborts the requester cannot game (no path
/// returns it more than its own abort after Ready). Each is named after what it proves
/// (scripts/findings_old_vs_new.py proves the findings on the old contracts). The fixture's job:
/// provider1 at 10, provider2 at 20, budget 1000, compute1 and compute2, weights 3:1, fee 10%,
/// challenge window 1 day.
contract FindingsAbortsTest is CustosFixture {
    uint256 private constant BUDGET = 1000 ether;

    // ---- F4: aborts cannot be gamed by the requester ----

    function test_F4_RequesterAbortAfterReadyPaysTheOwnersPrices() public {
        uint256 jobId = _readyJob();
        vm.prank(requester);
        ledger.abort(jobId, "saw enough");
        assertEq(settlement.creditOf(provider1), 10 ether, "provider1's price");
        assertEq(settlement.creditOf(provider2), 20 ether, "provider2's price");
        assertEq(settlement.creditOf(requester), BUDGET - 30 ether, "only the rest refunded");
    }

    /// @dev provider2 is REQUESTER|PROVIDER: it opens a job on provider1's source and its own (the guest).
    function _jobOpenedByAnOwner() private returns (uint256 jobId, uint256[] memory ids) {
        ids = _ids(_register(provider1, 10 ether), _register(provider2, 20 ether));
        address[] memory parties = new address[](1);
        parties[0] = compute1;
        vm.startPrank(provider2);
        token.approve(address(settlement), BUDGET);
        jobId = ledger.openJob(FEDAVG, ids, 0, parties, BUDGET, BUDGET, uint64(block.timestamp + 7 days));
        ledger.consent(jobId, ids[1]);
        vm.stopPrank();
        vm.prank(provider1);
        ledger.consent(jobId, ids[0]);
    }

    function test_F4_RequesterWhoIsAlsoAnOwnerGetsNoMoreByAbortingAsOwner() public {
        (uint256 jobId,) = _jobOpenedByAnOwner();
        vm.prank(provider2);
        ledger.abort(jobId, "as the guest");
        assertEq(settlement.creditOf(provider1), 10 ether, "the other owner's price");
        assertEq(settlement.creditOf(provider2), BUDGET - 10 ether, "budget minus the others' prices");
    }

    function test_F4_DroppedLinkAbortByTheComputePartyReturnsTheRequesterNoMoreThanItsOwnAbort() public {
        (uint256 jobId,) = _jobOpenedByAnOwner();
        vm.prank(compute1);
        ledger.abort(jobId, "guest unreachable");
        assertEq(settlement.creditOf(provider1), 10 ether, "the other owner's price");
        assertEq(settlement.creditOf(provider2), BUDGET - 10 ether, "same as its own abort after Ready");
    }

    function test_F4_RequesterWithholdingItsAttestationGetsNoMoreThanItsOwnAbort() public {
        (uint256 jobId, uint256[] memory ids) = _jobOpenedByAnOwner();
        vm.prank(compute1);
        ledger.commitResult(jobId, 0, 0, _weights(1, 1), 0);
        bytes32 digest = ledger.attestationDigest(jobId);
        vm.prank(auditor); // any member submits
        ledger.attest(jobId, provider1, _sign(PROVIDER1_KEY, digest));
        vm.prank(compute1);
        ledger.attest(jobId, compute1, _sign(COMPUTE1_KEY, digest));
        vm.warp(block.timestamp + ledger.DEFAULT_ATTESTATION_WINDOW());
        vm.prank(provider2);
        ledger.escalate(jobId);
        vm.warp(block.timestamp + ledger.MAX_RESOLUTION_WINDOW());
        vm.prank(provider2);
        ledger.settleUnresolved(jobId);
        assertEq(settlement.creditOf(provider1), 10 ether, "the other owner's price");
        assertEq(settlement.creditOf(provider2), BUDGET - 10 ether, "no more than its own abort");
        assertEq(ids.length, 2, "two sources");
    }

    function test_F4_OwnerWhoAbortsAfterConsentingEarnsNothing() public {
        uint256 jobId = _readyJob();
        vm.prank(provider1);
        ledger.abort(jobId, "walked away");
        assertEq(settlement.creditOf(provider1), 0, "the aborting owner forfeits its price");
        assertEq(settlement.creditOf(provider2), 20 ether, "the other owner is paid");
        assertEq(settlement.creditOf(requester), BUDGET - 20 ether, "the rest refunded");
    }

    function test_F4_RequesterAbortWhileOpenRefundsEverything() public {
        uint256 jobId = _open(_ids(_register(provider1, 10 ether), _register(provider2, 20 ether)), BUDGET);
        vm.prank(requester);
        ledger.abort(jobId, "");
        assertEq(settlement.creditOf(requester), BUDGET, "nobody consented yet");
    }
}
