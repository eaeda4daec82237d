// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Governed} from "./base/Governed.sol";

/// @title CustosToken
/// @notice The consortium's ERC-20 settlement token (with EIP-2612 permit). The bootstrap
/// allocation is minted at deployment; afterwards only governance mints.
/// @dev Transfers move only between active members and the Settlement contract, and only members
/// or Settlement hold or spend allowances, so tokens never leave the consortium.
contract CustosToken is ERC20, ERC20Permit, Governed {
    address private immutable _settlement;

    /// @notice Governance minted tokens.
    /// @param to The member credited.
    /// @param amount Token units minted.
    event TokensMinted(address indexed to, uint256 amount);

    /// @notice A rotated member's successor took over its tokens.
    event BalanceClaimed(address indexed predecessor, address indexed successor, uint256 amount);

    /// @notice The caller is not the member `predecessor`'s identity was rotated to.
    error CustosTokenNotSuccessor(address predecessor, address caller);
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

    /// @notice The successor of a rotated member moves the old address's tokens to itself (the old
    /// address, no longer a member, could not move them any more).
    /// @param predecessor The rotated member's old address.
    function claimBalance(address predecessor) external {
        if (_consortium.successorOf(predecessor) != msg.sender) revert CustosTokenNotSuccessor(predecessor, msg.sender);
        uint256 amount = balanceOf(predecessor);
        emit BalanceClaimed(predecessor, msg.sender, amount);
        // Past the membership check of `_update` on purpose: the predecessor is no longer a member.
        super._update(predecessor, msg.sender, amount);
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

    /// @dev A non-zero allowance only to a member or Settlement (zero always, to clear old ones).
    function _approve(address owner, address spender, uint256 value, bool emitEvent) internal override {
        if (value != 0) _requireInside(spender);
        super._approve(owner, spender, value, emitEvent);
    }

    /// @dev An allowance granted to someone who has since left cannot be spent.
    function _spendAllowance(address owner, address spender, uint256 value) internal override {
        _requireInside(spender);
        super._spendAllowance(owner, spender, value);
    }

    function _requireInside(address account) private view {
        if (account != _settlement && !_consortium.isMember(account)) revert CustosTokenOutsider(account);
    }
}
