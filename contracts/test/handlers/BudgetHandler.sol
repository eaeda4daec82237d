// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {PrivacyBudget} from "../../src/PrivacyBudget.sol";
import {JobTypes} from "../../src/base/JobTypes.sol";
import {JobHandler} from "./JobHandler.sol";

/// @notice JobHandler plus differentially private jobs: requesters open DP jobs asking random ε
/// and δ of sources whose owners (or other members, who must fail) raise and lower budgets
/// mid-run; `progress` commits a random spend up to each reservation (HandlerBase._dpSpend), and
/// every ending of JobHandler (finalise, dispute, cancel, abort, default) applies to them.
contract BudgetHandler is JobHandler {
    /// @notice A DP job opened although a source had less ε or δ left than it asked for.
    uint256 public ghostOverspendsAccepted;
    /// @notice A budget change accepted from a non-owner, or below what is spent plus reserved.
    uint256 public ghostBudgetViolations;

    constructor(
        Deployed memory d,
        address[] memory members_,
        uint8[] memory roles_,
        uint256[] memory keys_,
        address[] memory outsiders_,
        uint256[3] memory sources_
    ) JobHandler(d, members_, roles_, keys_, outsiders_, sources_) {}

    /// @dev Asks up to 2 ε per source and 1e-6 or 4e-6 δ of a FedAvg job; `ready`: every source consents.
    function openDpJob(uint256 budgetSeed, uint8 mask, uint64 epsilonSeed, bool bigDelta, bool byProvider2, bool ready)
        external
    {
        (uint256[] memory ids, uint256 priceSum) = _pick(mask);
        JobTypes.DpRequest memory dp = JobTypes.DpRequest(new uint64[](ids.length), bigDelta ? 4e12 : 1e12);
        bool fits = true;
        for (uint256 i = 0; i < ids.length; ++i) {
            dp.epsilons[i] = uint64(1 + uint256(keccak256(abi.encode(epsilonSeed, i))) % 2e6);
            (uint64 epsilonLeft, uint64 deltaLeft) = budget.remaining(ids[i]);
            if (dp.epsilons[i] > epsilonLeft || dp.delta > deltaLeft) fits = false;
        }
        _openDp(byProvider2 ? members[2] : members[0], ids, priceSum, budgetSeed, dp);
        if (!fits) ++ghostOverspendsAccepted;
        if (ready) _consentAll(ledger.jobCount() - 1);
    }

    function _openDp(
        address requester,
        uint256[] memory ids,
        uint256 priceSum,
        uint256 budgetSeed,
        JobTypes.DpRequest memory dp
    ) private {
        uint256 amount = 60 + (budgetSeed % 1_000_000);
        address[] memory parties = _parties(budgetSeed % 2 == 0);
        vm.prank(requester);
        token.approve(address(settlement), amount);
        vm.prank(requester);
        ledger.openDpJob(3, ids, keccak256("p"), parties, amount, priceSum, uint64(block.timestamp + 3 days), dp);
    }

    /// @dev Totals up to 8 ε and 2e-5 δ, so budgets run out and changes meet reservations.
    function setBudget(uint8 which, uint64 epsilonTotal, uint64 deltaTotal, bool exactAllowed, bool byOwner)
        external
    {
        uint256 sourceId = sources[which % 3];
        address owner = registry.source(sourceId).owner;
        address caller = byOwner ? owner : members[which % members.length];
        (epsilonTotal, deltaTotal) = (epsilonTotal % 8e6, deltaTotal % 2e13);
        PrivacyBudget.Budget memory b = budget.budgetOf(sourceId);
        vm.prank(caller);
        budget.setBudget(sourceId, epsilonTotal, deltaTotal, exactAllowed);
        bool lower = epsilonTotal < uint256(b.epsilonSpent) + b.epsilonReserved
            || deltaTotal < uint256(b.deltaSpent) + b.deltaReserved;
        if (caller != owner || lower) ++ghostBudgetViolations;
    }
}
