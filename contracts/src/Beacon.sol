// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title Beacon
/// @notice Smoke-test contract: proves the toolchain compiles, deploys and runs a contract.
/// @dev Kept deliberately tiny; the consortium contracts live beside it.
contract Beacon {
    uint256 private _count;

    /// @notice Emitted after every ping.
    /// @param sender Who pinged.
    /// @param count The ping count after this ping.
    event Pinged(address indexed sender, uint256 count);

    /// @notice Thrown when a ping would step by zero.
    error BeaconZeroStep();

    /// @notice Adds `step` to the counter.
    /// @param step How much to add; must not be zero.
    /// @return The counter after the ping.
    function ping(uint256 step) external returns (uint256) {
        if (step == 0) revert BeaconZeroStep();
        _count += step;
        emit Pinged(msg.sender, _count);
        return _count;
    }

    /// @notice The current counter.
    function count() external view returns (uint256) {
        return _count;
    }
}
