// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {IConsortium} from "../interfaces/IConsortium.sol";

/// @title Membership
/// @notice The member set, role bits, names and transport endpoints of the consortium.
/// @dev Changes to the set are internal; `Consortium` exposes them to its proposals only.
abstract contract Membership is IConsortium {
    using EnumerableSet for EnumerableSet.AddressSet;

    /// @notice All role bits together (REQUESTER | PROVIDER | COMPUTE | AUDITOR | VALIDATOR).
    uint8 public constant ALL_ROLES = 31;

    /// @notice What the consortium knows of a member.
    struct Member {
        uint8 roles;
        bytes32 transportKey;
        string name;
        string endpoint;
    }

    EnumerableSet.AddressSet private _members;
    mapping(address account => Member) private _info;
    /// @dev Bumped at every admission: approvals are tied to the epoch they were given in.
    mapping(address account => uint64) private _epoch;
    /// @dev The address a member's identity was rotated to (key rotation).
    mapping(address account => address) private _rotatedTo;

    /// @notice A member joined.
    /// @param member The organisation's address.
    /// @param roles Its role bits.
    /// @param name Its display name.
    event MemberAdded(address indexed member, uint8 roles, string name);
    /// @notice A member left.
    /// @param member The organisation's address.
    event MemberRemoved(address indexed member);
    /// @notice A member's identity (roles, name, endpoint) moved to a new key.
    /// @param from The old address, no longer a member.
    /// @param to The successor, a member from now on.
    event MemberRotated(address indexed from, address indexed to);
    /// @notice A member's roles changed.
    /// @param member The organisation's address.
    /// @param oldRoles The role bits before.
    /// @param newRoles The role bits after.
    event RolesChanged(address indexed member, uint8 oldRoles, uint8 newRoles);
    /// @notice A member published its transport key and endpoint.
    /// @param member The organisation's address.
    /// @param transportKey Its X25519 public key for party channels.
    /// @param endpoint Where its gateway listens.
    event MemberEndpointSet(address indexed member, bytes32 transportKey, string endpoint);

    /// @notice The account is already a member.
    error ConsortiumAlreadyMember(address account);
    /// @notice The account is not a member.
    error ConsortiumNotMember(address account);
    /// @notice The role bits are zero or outside ALL_ROLES.
    error ConsortiumInvalidRoles(uint8 roles);
    /// @notice The member address is zero.
    error ConsortiumZeroMember();

    /// @inheritdoc IConsortium
    function isMember(address account) public view returns (bool) {
        return _members.contains(account);
    }

    /// @inheritdoc IConsortium
    function hasRoles(address account, uint8 roles) external view returns (bool) {
        return _members.contains(account) && (_info[account].roles & roles) == roles;
    }

    /// @notice The node's admission rule: true iff `sender` is an active member.
    /// @dev The other arguments are part of the node's interface and are not consulted yet.
    /// @param sender The transaction's signer.
    /// @return Whether the node may admit the transaction.
    function transactionAllowed(address sender, address, uint256, uint256, uint256, bytes calldata)
        external
        view
        returns (bool)
    {
        return _members.contains(sender);
    }

    /// @notice The active members, in no particular order.
    function members() external view returns (address[] memory) {
        return _members.values();
    }

    /// @notice How many times `account` was admitted (its current membership epoch; 0: never).
    function epochOf(address account) public view returns (uint64) {
        return _epoch[account];
    }

    /// @inheritdoc IConsortium
    /// @dev Follows successive rotations (a → b → c gives c); at most 16 hops are followed.
    function successorOf(address account) external view returns (address current) {
        current = _rotatedTo[account];
        for (uint256 i = 0; i < 16 && _rotatedTo[current] != address(0); ++i) {
            current = _rotatedTo[current];
        }
    }

    /// @notice How many members are active.
    function memberCount() public view returns (uint256) {
        return _members.length();
    }

    /// @notice What the consortium knows of `account` (zero roles if not a member).
    /// @param account The organisation's address.
    function member(address account) external view returns (Member memory) {
        return _info[account];
    }

    /// @notice Publishes the caller's transport key and gateway endpoint.
    /// @param transportKey The caller's X25519 public key.
    /// @param endpoint The caller's gateway URL.
    function setEndpoint(bytes32 transportKey, string calldata endpoint) external {
        if (!_members.contains(msg.sender)) revert ConsortiumNotMember(msg.sender);
        Member storage info = _info[msg.sender];
        info.transportKey = transportKey;
        info.endpoint = endpoint;
        emit MemberEndpointSet(msg.sender, transportKey, endpoint);
    }

    function _addMember(address account, uint8 roles, string memory name) internal {
        if (account == address(0)) revert ConsortiumZeroMember();
        _checkRoles(roles);
        if (!_members.add(account)) revert ConsortiumAlreadyMember(account);
        ++_epoch[account];
        _info[account] = Member({roles: roles, transportKey: bytes32(0), name: name, endpoint: ""});
        emit MemberAdded(account, roles, name);
    }

    function _removeMember(address account) internal {
        if (!_members.remove(account)) revert ConsortiumNotMember(account);
        delete _info[account];
        emit MemberRemoved(account);
    }

    function _rotate(address from, address to) internal {
        if (to == address(0)) revert ConsortiumZeroMember();
        if (_epoch[to] != 0) revert ConsortiumAlreadyMember(to);
        if (!_members.remove(from)) revert ConsortiumNotMember(from);
        if (!_members.add(to)) revert ConsortiumAlreadyMember(to);
        Member memory info = _info[from];
        delete _info[from];
        ++_epoch[to];
        _info[to] = info;
        _rotatedTo[from] = to;
        emit MemberRotated(from, to);
    }

    function _setRoles(address account, uint8 roles) internal {
        if (!_members.contains(account)) revert ConsortiumNotMember(account);
        _checkRoles(roles);
        uint8 old = _info[account].roles;
        _info[account].roles = roles;
        emit RolesChanged(account, old, roles);
    }

    function _checkRoles(uint8 roles) private pure {
        if (roles == 0 || roles & ~ALL_ROLES != 0) revert ConsortiumInvalidRoles(roles);
    }
}
