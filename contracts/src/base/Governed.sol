// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IConsortium} from "../interfaces/IConsortium.sol";

/// @title Governed
/// @notice Mixin for contracts whose admin functions only the consortium's proposals reach,
/// and whose other state-changing functions only active members may call.
abstract contract Governed {
    /// @notice Role bits (docs/protocol.md).
    uint8 internal constant REQUESTER = 1;
    uint8 internal constant PROVIDER = 2;
    uint8 internal constant COMPUTE = 4;
    uint8 internal constant AUDITOR = 8;
    uint8 internal constant VALIDATOR = 16;

    IConsortium internal immutable _consortium;

    /// @notice The caller is not the consortium executing a proposal.
    /// @param caller Who called.
    error GovernedOnlyGovernance(address caller);
    /// @notice The caller is not an active member holding the required roles.
    /// @param caller Who called.
    /// @param roles The role bits required (0: membership alone).
    error GovernedUnauthorizedMember(address caller, uint8 roles);
    /// @notice A required address is zero.
    error GovernedZeroAddress();

    modifier onlyGovernance() {
        if (msg.sender != address(_consortium)) revert GovernedOnlyGovernance(msg.sender);
        _;
    }

    modifier onlyMember() {
        if (!_consortium.isMember(msg.sender)) revert GovernedUnauthorizedMember(msg.sender, 0);
        _;
    }

    constructor(address consortium_) {
        if (consortium_ == address(0)) revert GovernedZeroAddress();
        _consortium = IConsortium(consortium_);
    }

    /// @notice The membership contract that governs this one.
    function consortium() external view returns (address) {
        return address(_consortium);
    }

    function _requireRoles(address account, uint8 roles) internal view {
        if (!_consortium.hasRoles(account, roles)) revert GovernedUnauthorizedMember(account, roles);
    }
}
