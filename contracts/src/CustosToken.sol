// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Governed} from "./base/Governed.sol";

/// @title CustosToken
/// @notice The consortium's ERC-20 settlement token (with EIP-2612 permit). The bootstrap
/// allocation is minted at deployment; afterwards only governance mints.
/// @dev Transfers move only between active members and the Settlement contract, so tokens
/// never leave the consortium.
contract CustosToken is ERC20, ERC20Permit, Governed {
    address private immutable _settlement;

    /// @notice Governance minted tokens.
    /// @param to The member credited.
    /// @param amount Token units minted.
    event TokensMinted(address indexed to, uint256 amount);

    /// @notice Bootstrap arrays differ in length.
    error CustosTokenInvalidAllocation();
    /// @notice A transfer party is neither an active member nor the Settlement contract.
    /// @param account The outsider.
    error CustosTokenOutsider(address account);

    /// @notice Deploys the token and mints the bootstrap allocation.
    /// @param consortium_ The Consortium contract.
    /// @param settlement_ The Settlement contract (may be deployed after this one).
    /// @param holders Bootstrap members receiving tokens.
    /// @param amounts Their allocations.
    constructor(address consortium_, address settlement_, address[] memory holders, uint256[] memory amounts)
        ERC20("Custos Settlement Token", "CST")
        ERC20Permit("Custos Settlement Token")
        Governed(consortium_)
    {
        if (settlement_ == address(0)) revert GovernedZeroAddress();
        if (holders.length != amounts.length) revert CustosTokenInvalidAllocation();
        _settlement = settlement_;
        for (uint256 i = 0; i < holders.length; ++i) {
            _mint(holders[i], amounts[i]);
        }
    }

    /// @notice Mints `amount` to the member `to` (governance only).
    /// @param to An active member.
    /// @param amount Token units.
    function mint(address to, uint256 amount) external onlyGovernance {
        _mint(to, amount);
        emit TokensMinted(to, amount);
    }

    /// @notice The Settlement contract, the only non-member that may hold tokens.
    function settlement() external view returns (address) {
        return _settlement;
    }

    /// @dev Every sender and recipient must be a member or Settlement (burns do not exist).
    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0)) _requireInside(from);
        _requireInside(to);
        super._update(from, to, value);
    }

    function _requireInside(address account) private view {
        if (account != _settlement && !_consortium.isMember(account)) revert CustosTokenOutsider(account);
    }
}
