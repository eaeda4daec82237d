// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {OpenAdapter} from "./OpenAdapter.sol";

/// @notice What every proof needs besides the fixture: calls whose failure is the finding.
/// A proof asserts the bad behaviour the review found, so it passes exactly while the bug is there.
abstract contract ProofBase is OpenAdapter {
    /// @dev True when `caller`'s call reverts (a missing function reverts too: no fallback).
    function _reverts(address caller, address target, bytes memory data) internal returns (bool) {
        vm.prank(caller);
        (bool ok,) = target.call(data);
        return !ok;
    }

    /// @dev Governance's call through the fixture's propose/approve/execute, as an external call
    /// so that a refusal can be observed instead of failing the proof.
    function governs(address target, bytes calldata data) external {
        _govern(target, data);
    }

    function _governanceFails(address target, bytes memory data) internal returns (bool) {
        try this.governs(target, data) {
            return false;
        } catch {
            return true;
        }
    }

    function _attestAllBut(uint256 jobId, uint256 skippedKey) internal {
        bytes32 digest = ledger.attestationDigest(jobId);
        uint256[4] memory keys = [PROVIDER1_KEY, PROVIDER2_KEY, COMPUTE1_KEY, COMPUTE2_KEY];
        for (uint256 i = 0; i < keys.length; ++i) {
            if (keys[i] == skippedKey) continue;
            vm.prank(requester);
            ledger.attest(jobId, vm.addr(keys[i]), _sign(keys[i], digest));
        }
    }
}
