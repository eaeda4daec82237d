// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {Membership} from "./base/Membership.sol";

/// @title Consortium
/// @notice Members, roles and M-of-N governance: every admin call in Custos is a proposal
/// that active members approve before it expires; no key holds power alone.
/// @dev Proposals call any target with any calldata once `threshold` current members approved
/// (in their current membership epoch) and the action's timelock delay passed; the other
/// contracts accept admin calls only from this contract (`onlyGovernance`).
contract Consortium is Membership {
    /// @notice A governance proposal: one call to execute once approved and its delay passed.
    /// @dev `readyAt`: when the approvals first reached the threshold (0: not yet); `delay`: the
    /// timelock of the call's selector when proposed.
    struct Proposal {
        address proposer;
        address target;
        uint64 expiresAt;
        bool executed;
        bytes data;
        string description;
        address[] approvers;
        bool cancelled;
        uint64 readyAt;
        uint64 delay;
    }

    /// @notice Range of the proposal lifetime: long enough to gather approvals across time zones,
    /// short enough that a forgotten proposal cannot be executed months later.
    uint64 public constant MIN_PROPOSAL_TTL = 1 hours;
    uint64 public constant MAX_PROPOSAL_TTL = 30 days;
    /// @notice Longest timelock delay governance may set for an action.
    uint64 public constant MAX_DELAY = 14 days;

    uint256 private _threshold;
    uint64 private _proposalTtl;
    Proposal[] private _proposals;
    /// @dev The approver's membership epoch when it approved (0: not approved).
    mapping(uint256 proposalId => mapping(address account => uint64)) private _approvedIn;
    mapping(bytes4 selector => uint64) private _delay;

    /// @notice A member proposed a call.
    /// @param proposalId The proposal's id (index from 0).
    /// @param proposer Who proposed it.
    /// @param target The contract to call.
    /// @param data The calldata.
    /// @param description Why, for the audit trail.
    /// @param expiresAt When approvals and execution stop being accepted (unix seconds).
    event ProposalCreated(
        uint256 indexed proposalId,
        address indexed proposer,
        address indexed target,
        bytes data,
        string description,
        uint64 expiresAt
    );
    /// @notice A member approved a proposal.
    /// @param proposalId The proposal's id.
    /// @param member Who approved.
    event ProposalApproved(uint256 indexed proposalId, address indexed member);
    /// @notice A member withdrew its approval.
    event ApprovalRevoked(uint256 indexed proposalId, address indexed member);
    /// @notice The proposer cancelled its proposal.
    event ProposalCancelled(uint256 indexed proposalId);
    /// @notice The proposal reached the threshold; it may execute from `executableAt`.
    event ProposalQueued(uint256 indexed proposalId, uint64 executableAt);
    /// @notice Governance set the timelock delay of calls with this selector.
    event DelaySet(bytes4 indexed selector, uint64 delay);
    /// @notice An approved proposal's call was executed.
    /// @param proposalId The proposal's id.
    /// @param executor Who triggered the execution.
    event ProposalExecuted(uint256 indexed proposalId, address indexed executor);
    /// @notice The approval threshold changed.
    /// @param oldThreshold Approvals needed before.
    /// @param newThreshold Approvals needed after.
    event ThresholdChanged(uint256 oldThreshold, uint256 newThreshold);
    /// @notice The proposal lifetime changed.
    /// @param oldTtl Seconds before.
    /// @param newTtl Seconds after.
    event ProposalTtlChanged(uint64 oldTtl, uint64 newTtl);

    /// @notice Only a proposal executed by this contract may call this function.
    error ConsortiumOnlyGovernance(address caller);
    /// @notice Bootstrap arrays differ in length or are empty.
    error ConsortiumInvalidBootstrap();
    /// @notice The threshold is zero or above the member count.
    error ConsortiumInvalidThreshold(uint256 threshold, uint256 memberCount);
    /// @notice The proposal lifetime is outside MIN_PROPOSAL_TTL..MAX_PROPOSAL_TTL.
    error ConsortiumInvalidTtl(uint64 ttl);
    /// @notice The proposal target has no code.
    error ConsortiumInvalidTarget(address target);
    /// @notice No proposal has this id.
    error ConsortiumUnknownProposal(uint256 proposalId);
    /// @notice The proposal expired.
    error ConsortiumProposalExpired(uint256 proposalId, uint64 expiresAt);
    /// @notice The proposal was already executed.
    error ConsortiumProposalExecuted(uint256 proposalId);
    /// @notice The member already approved this proposal.
    error ConsortiumAlreadyApproved(uint256 proposalId, address member);
    /// @notice The proposal was cancelled.
    error ConsortiumProposalCancelled(uint256 proposalId);
    /// @notice The caller did not approve the proposal (in its current membership epoch).
    error ConsortiumNotApproved(uint256 proposalId, address member);
    /// @notice Only the proposer may cancel.
    error ConsortiumNotProposer(uint256 proposalId, address caller);
    /// @notice The proposal's timelock has not passed (executableAt 0: the threshold was never reached).
    error ConsortiumTimelocked(uint256 proposalId, uint64 executableAt);
    /// @notice A delay above MAX_DELAY.
    error ConsortiumInvalidDelay(uint64 delay);
    /// @notice Too few current members approved.
    error ConsortiumBelowThreshold(uint256 proposalId, uint256 approvals, uint256 threshold);

    modifier onlyGovernance() {
        if (msg.sender != address(this)) revert ConsortiumOnlyGovernance(msg.sender);
        _;
    }

    modifier onlyActiveMember() {
        if (!isMember(msg.sender)) revert ConsortiumNotMember(msg.sender);
        _;
    }

    /// @notice Bootstraps the member set; afterwards only proposals change it.
    /// @param accounts The founding members' addresses.
    /// @param roles Their role bits.
    /// @param names Their display names.
    /// @param threshold_ Approvals a proposal needs.
    /// @param proposalTtl_ Seconds a proposal stays open.
    constructor(
        address[] memory accounts,
        uint8[] memory roles,
        string[] memory names,
        uint256 threshold_,
        uint64 proposalTtl_
    ) {
        if (accounts.length == 0 || accounts.length != roles.length || accounts.length != names.length) {
            revert ConsortiumInvalidBootstrap();
        }
        for (uint256 i = 0; i < accounts.length; ++i) {
            _addMember(accounts[i], roles[i], names[i]);
        }
        _setThreshold(threshold_);
        _setProposalTtl(proposalTtl_);
    }

    /// @notice Proposes one call; the proposer's approval is recorded with it.
    /// @param target The contract to call (this one, or another Custos contract).
    /// @param data The calldata.
    /// @param description Why, for the audit trail.
    /// @return proposalId The new proposal's id.
    function propose(address target, bytes calldata data, string calldata description)
        external
        onlyActiveMember
        returns (uint256 proposalId)
    {
        if (target.code.length == 0) revert ConsortiumInvalidTarget(target);
        proposalId = _proposals.length;
        Proposal storage p = _proposals.push();
        p.proposer = msg.sender;
        p.target = target;
        p.delay = delayOf(data);
        // The delay is added to the lifetime: a timelocked proposal still has the whole TTL to gather approvals.
        p.expiresAt = uint64(block.timestamp) + _proposalTtl + p.delay;
        p.data = data;
        p.description = description;
        emit ProposalCreated(proposalId, msg.sender, target, data, description, p.expiresAt);
        _approve(proposalId, p);
    }

    /// @notice Records the caller's approval of a proposal.
    /// @param proposalId The proposal's id.
    function approve(uint256 proposalId) external onlyActiveMember {
        Proposal storage p = _open(proposalId);
        if (hasApproved(proposalId, msg.sender)) revert ConsortiumAlreadyApproved(proposalId, msg.sender);
        _approve(proposalId, p);
    }

    /// @notice Withdraws the caller's approval of an open proposal.
    /// @param proposalId The proposal's id.
    function revoke(uint256 proposalId) external onlyActiveMember {
        Proposal storage p = _open(proposalId);
        if (!hasApproved(proposalId, msg.sender)) revert ConsortiumNotApproved(proposalId, msg.sender);
        delete _approvedIn[proposalId][msg.sender];
        address[] storage approvers = p.approvers;
        for (uint256 i = 0; i < approvers.length; ++i) {
            if (approvers[i] == msg.sender) {
                approvers[i] = approvers[approvers.length - 1];
                approvers.pop();
                break;
            }
        }
        // Below the threshold again: the timelock restarts when it is reached again.
        if (approvalCount(proposalId) < _threshold) p.readyAt = 0;
        emit ApprovalRevoked(proposalId, msg.sender);
    }

    /// @notice The proposer cancels its open proposal.
    /// @param proposalId The proposal's id.
    function cancel(uint256 proposalId) external onlyActiveMember {
        Proposal storage p = _open(proposalId);
        if (p.proposer != msg.sender) revert ConsortiumNotProposer(proposalId, msg.sender);
        p.cancelled = true;
        emit ProposalCancelled(proposalId);
    }

    /// @notice Starts the timelock of a proposal that has enough approvals but no start time
    /// (e.g. after governance lowered the threshold); approvals start it on their own.
    /// @param proposalId The proposal's id.
    function queue(uint256 proposalId) external onlyActiveMember {
        Proposal storage p = _open(proposalId);
        uint256 approvals = approvalCount(proposalId);
        if (approvals < _threshold) revert ConsortiumBelowThreshold(proposalId, approvals, _threshold);
        _queue(proposalId, p);
    }

    /// @notice Executes a proposal that enough current members approved before its expiry, once
    /// its timelock delay since reaching the threshold has passed.
    /// @dev Reverts with the target's own error if the call fails.
    /// @param proposalId The proposal's id.
    /// @return The call's return data.
    function execute(uint256 proposalId) external onlyActiveMember returns (bytes memory) {
        Proposal storage p = _open(proposalId);
        uint256 approvals = approvalCount(proposalId);
        if (approvals < _threshold) revert ConsortiumBelowThreshold(proposalId, approvals, _threshold);
        if (p.readyAt == 0 && p.delay == 0) p.readyAt = uint64(block.timestamp);
        if (p.readyAt == 0 || block.timestamp < uint256(p.readyAt) + p.delay) {
            revert ConsortiumTimelocked(proposalId, p.readyAt == 0 ? 0 : p.readyAt + p.delay);
        }
        p.executed = true;
        emit ProposalExecuted(proposalId, msg.sender);
        return Address.functionCall(p.target, p.data);
    }

    /// @notice Adds a member (governance only).
    /// @param account The organisation's address.
    /// @param roles Its role bits.
    /// @param name Its display name.
    function addMember(address account, uint8 roles, string calldata name) external onlyGovernance {
        _addMember(account, roles, name);
    }

    /// @notice Removes a member (governance only); the threshold must stay reachable.
    /// @param account The organisation's address.
    function removeMember(address account) external onlyGovernance {
        if (memberCount() - 1 < _threshold) revert ConsortiumInvalidThreshold(_threshold, memberCount() - 1);
        _removeMember(account);
    }

    /// @notice Key rotation (governance only): `from`'s identity — roles, name, endpoint — moves to
    /// the fresh address `to`; `from` stops being a member. The successor then claims `from`'s
    /// credits (Settlement.claimCredits), sources (DataRegistry.claimSource) and tokens
    /// (CustosToken.claimBalance), so a lost or compromised key strands neither money nor data.
    /// @param from The member's old address.
    /// @param to Its new address, never a member before.
    function rotateMember(address from, address to) external onlyGovernance {
        _rotate(from, to);
    }

    /// @notice Replaces a member's role bits (governance only).
    /// @param account The organisation's address.
    /// @param roles The new role bits.
    function setRoles(address account, uint8 roles) external onlyGovernance {
        _setRoles(account, roles);
    }

    /// @notice Sets the timelock delay of calls with `selector` (governance only): mint, fee,
    /// membership and role (validator set) changes are the sensitive ones.
    /// @param selector The function selector of the governed call.
    /// @param delay Seconds between reaching the threshold and executing; at most MAX_DELAY.
    function setDelay(bytes4 selector, uint64 delay) external onlyGovernance {
        if (delay > MAX_DELAY) revert ConsortiumInvalidDelay(delay);
        _delay[selector] = delay;
        emit DelaySet(selector, delay);
    }

    /// @notice Sets how many approvals a proposal needs (governance only).
    /// @param threshold_ Between 1 and the member count.
    function setThreshold(uint256 threshold_) external onlyGovernance {
        _setThreshold(threshold_);
    }

    /// @notice Sets how long new proposals stay open (governance only).
    /// @param ttl Seconds, from MIN_PROPOSAL_TTL to MAX_PROPOSAL_TTL.
    function setProposalTtl(uint64 ttl) external onlyGovernance {
        _setProposalTtl(ttl);
    }

    /// @notice Approvals a proposal needs.
    function threshold() external view returns (uint256) {
        return _threshold;
    }

    /// @notice Seconds a new proposal stays open.
    function proposalTtl() external view returns (uint64) {
        return _proposalTtl;
    }

    /// @notice How many proposals were ever made.
    function proposalCount() external view returns (uint256) {
        return _proposals.length;
    }

    /// @notice A proposal as stored.
    /// @param proposalId The proposal's id.
    function proposal(uint256 proposalId) external view returns (Proposal memory) {
        if (proposalId >= _proposals.length) revert ConsortiumUnknownProposal(proposalId);
        return _proposals[proposalId];
    }

    /// @notice Whether `account` approved the proposal in its current membership epoch.
    /// @param proposalId The proposal's id.
    /// @param account The member.
    function hasApproved(uint256 proposalId, address account) public view returns (bool) {
        uint64 epoch = _approvedIn[proposalId][account];
        return epoch != 0 && epoch == epochOf(account);
    }

    /// @notice The timelock delay of calls with `data`'s selector (0 for none or short data).
    /// @param data The calldata of a governed call.
    function delayOf(bytes calldata data) public view returns (uint64) {
        return data.length < 4 ? 0 : _delay[bytes4(data[:4])];
    }

    /// @notice Approvals of a proposal from accounts that are still members, given in their
    /// current membership epoch (a removed and re-admitted member's old approval does not count).
    /// @param proposalId The proposal's id.
    function approvalCount(uint256 proposalId) public view returns (uint256 count) {
        if (proposalId >= _proposals.length) revert ConsortiumUnknownProposal(proposalId);
        address[] storage approvers = _proposals[proposalId].approvers;
        for (uint256 i = 0; i < approvers.length; ++i) {
            if (isMember(approvers[i]) && hasApproved(proposalId, approvers[i])) ++count;
        }
    }

    function _open(uint256 proposalId) private view returns (Proposal storage p) {
        if (proposalId >= _proposals.length) revert ConsortiumUnknownProposal(proposalId);
        p = _proposals[proposalId];
        if (p.executed) revert ConsortiumProposalExecuted(proposalId);
        if (p.cancelled) revert ConsortiumProposalCancelled(proposalId);
        if (block.timestamp >= p.expiresAt) revert ConsortiumProposalExpired(proposalId, p.expiresAt);
    }

    function _approve(uint256 proposalId, Proposal storage p) private {
        // A re-admitted member approving again is already listed: only its epoch moves.
        if (_approvedIn[proposalId][msg.sender] == 0) p.approvers.push(msg.sender);
        _approvedIn[proposalId][msg.sender] = epochOf(msg.sender);
        emit ProposalApproved(proposalId, msg.sender);
        if (p.readyAt == 0 && approvalCount(proposalId) >= _threshold) _queue(proposalId, p);
    }

    function _queue(uint256 proposalId, Proposal storage p) private {
        if (p.readyAt != 0) return;
        p.readyAt = uint64(block.timestamp);
        emit ProposalQueued(proposalId, p.readyAt + p.delay);
    }

    function _setThreshold(uint256 threshold_) private {
        uint256 count = memberCount();
        if (threshold_ == 0 || threshold_ > count) revert ConsortiumInvalidThreshold(threshold_, count);
        uint256 old = _threshold;
        _threshold = threshold_;
        emit ThresholdChanged(old, threshold_);
    }

    function _setProposalTtl(uint64 ttl) private {
        if (ttl < MIN_PROPOSAL_TTL || ttl > MAX_PROPOSAL_TTL) revert ConsortiumInvalidTtl(ttl);
        uint64 old = _proposalTtl;
        _proposalTtl = ttl;
        emit ProposalTtlChanged(old, ttl);
    }
}
