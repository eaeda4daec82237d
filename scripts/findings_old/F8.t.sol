// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ProofBase} from "./ProofBase.sol";

/// @notice F8: no price cap on opening, so a provider front-runs `openJob` and takes the pool.
contract ProofF8 is ProofBase {
    function test_F8_ProviderFrontRunsOpenJobWithAPriceOf980AndTakesThePool() public {
        uint256[] memory ids = _ids(_register(provider1, 10 ether), _register(provider2, 20 ether));
        // The requester sends openJob expecting 30 in prices; provider1's setTerms lands first.
        vm.prank(provider1);
        registry.setTerms(ids[0], 980 ether, (1 << PSI) | (1 << FEDAVG), true, 0, "ipfs://source");
        uint256 jobId = _openAt(ids, 1000 ether, 30 ether);
        (,,, uint256[] memory prices) = ledger.jobSources(jobId);
        assertEq(prices[0], 980 ether, "the job opened at the front-run price");
    }
}
