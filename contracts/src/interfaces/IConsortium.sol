// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title IConsortium
/// @notice What the other Custos contracts ask the membership contract.
interface IConsortium {
    /// @notice Whether `account` is an active member.
    function isMember(address account) external view returns (bool);

    /// @notice Whether `account` is an active member holding every bit of `roles`.
    function hasRoles(address account, uint8 roles) external view returns (bool);

    /// @notice The member that now holds `account`'s identity after key rotations (0: none).
    function successorOf(address account) external view returns (address);
}
