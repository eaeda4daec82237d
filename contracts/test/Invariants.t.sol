// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {CustosFixture} from "./fixtures/CustosFixture.sol";
import {InvariantTest} from "./lib/InvariantTest.sol";
import {JobHandler} from "./handlers/JobHandler.sol";
import {DisruptionHandler} from "./handlers/DisruptionHandler.sol";
import {BudgetHandler} from "./handlers/BudgetHandler.sol";
import {HandlerBase} from "./handlers/HandlerBase.sol";
import {Consortium} from "../src/Consortium.sol";
import {JobTypes} from "../src/base/JobTypes.sol";
import {PrivacyBudget} from "../src/PrivacyBudget.sol";

/// @notice The protocol's invariants over random sequences of an adversarial handler
/// (handlers/BudgetHandler.sol and the handlers it extends). One campaign checks every property
/// after every call (a failure names the property); `afterInvariant` checks liveness at the end
/// of every run: once time passes each job's documented windows, every job can be driven to a
/// terminal state.
/// @dev One invariant function keeps CI to one campaign of runs × depth (see foundry.toml).
contract InvariantsTest is CustosFixture, InvariantTest {
    BudgetHandler private handler;
    PrivacyBudget private budget;
    uint256[3] private sourceIds;

    function setUp() public override {
        super.setUp();
        address former = address(0xF0F0);
        _govern(address(consortium), abi.encodeCall(Consortium.addMember, (former, COMPUTE, "Former")));
        _govern(address(consortium), abi.encodeCall(Consortium.removeMember, (former)));
        uint256[3] memory ids = [_register(provider1, 10), _register(provider1, 0), _register(provider2, 25)];
        (sourceIds, budget) = (ids, PrivacyBudget(ledger.privacyBudget()));
        // Small budgets (4 ε, δ 1e-5), so DP jobs run them out; source 1 has none until its owner sets one.
        vm.prank(provider1);
        budget.setBudget(ids[0], 4e6, 1e13, true);
        vm.prank(provider2);
        budget.setBudget(ids[2], 4e6, 1e13, true);
        address[] memory outsiders = new address[](2);
        (outsiders[0], outsiders[1]) = (outsider, former);
        uint256[] memory keys = new uint256[](6);
        (keys[0], keys[1], keys[2]) = (REQUESTER_KEY, PROVIDER1_KEY, PROVIDER2_KEY);
        (keys[3], keys[4], keys[5]) = (COMPUTE1_KEY, COMPUTE2_KEY, AUDITOR_KEY);
        address[] memory accounts = _members();
        uint8[] memory roles = new uint8[](6);
        for (uint256 i = 0; i < 6; ++i) roles[i] = consortium.member(accounts[i]).roles;
        handler = new BudgetHandler(
            HandlerBase.Deployed(consortium, token, registry, settlement, ledger, anchorContract),
            accounts,
            roles,
            keys,
            outsiders,
            ids
        );
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](25);
        selectors[0] = JobHandler.openJob.selector;
        selectors[1] = JobHandler.consent.selector;
        selectors[2] = JobHandler.commit.selector;
        selectors[3] = JobHandler.attest.selector;
        selectors[4] = JobHandler.warp.selector;
        selectors[5] = JobHandler.finalize.selector;
        selectors[6] = JobHandler.dispute.selector;
        selectors[7] = JobHandler.resolve.selector;
        selectors[8] = JobHandler.cancel.selector;
        selectors[9] = JobHandler.abort.selector;
        selectors[10] = JobHandler.withdraw.selector;
        selectors[11] = DisruptionHandler.outsiderActs.selector;
        selectors[12] = JobHandler.progress.selector;
        selectors[13] = JobHandler.escalate.selector;
        selectors[14] = JobHandler.settleUnresolved.selector;
        selectors[15] = DisruptionHandler.changeSetting.selector;
        selectors[16] = DisruptionHandler.toggleMember.selector;
        selectors[17] = DisruptionHandler.toggleRole.selector;
        selectors[18] = DisruptionHandler.strayTransfer.selector;
        selectors[19] = DisruptionHandler.sweep.selector;
        selectors[20] = JobHandler.progress.selector; // twice: runs reach settlement often
        selectors[21] = BudgetHandler.openDpJob.selector;
        selectors[22] = BudgetHandler.openDpJob.selector; // twice: as many DP jobs as exact ones
        selectors[23] = BudgetHandler.setBudget.selector;
        selectors[24] = JobHandler.anchorJobRecords.selector;
        targetSelector(FuzzSelector(address(handler), selectors));
    }

    /// @notice Every property, each failing with its own name.
    function invariant_ProtocolHolds() public view {
        _escrowIsConserved();
        _eachPayeeGetsTheRuleOfTheRecordedTerms();
        _onlyMembersInRoleChangeState();
        _finalisationNeedsEverySignatureAndTheWindow();
        _governanceSettingsStayInRange();
        _privacyBudgetsHold();
        assertEq(handler.ghostLivenessViolations(), 0, "liveness: escalation not open exactly at the job's bound");
    }

    /// @dev Recomputed entry by entry, not only from Settlement's running totals; stray tokens
    /// (sent straight to Settlement) are the only extra, and only they are swept.
    function _escrowIsConserved() private view {
        uint256 escrows = 0;
        for (uint256 j = 0; j < ledger.jobCount(); ++j) {
            escrows += settlement.escrowOf(j);
        }
        uint256 credits = 0;
        for (uint256 i = 0; i < handler.memberCount(); ++i) {
            credits += settlement.creditOf(handler.members(i));
        }
        for (uint256 i = 0; i < handler.outsiderCount(); ++i) {
            credits += settlement.creditOf(handler.outsiders(i));
        }
        uint256 held = token.balanceOf(address(settlement));
        assertEq(held, escrows + credits + handler.ghostStray(), "escrow conserved: held == escrows + credits + stray");
        assertEq(held, settlement.totalEscrowed() + settlement.totalCredits() + settlement.strayBalance(), "totals");
        assertEq(settlement.strayBalance(), handler.ghostStray(), "escrow conserved: stray accounted");
    }

    function _eachPayeeGetsTheRuleOfTheRecordedTerms() private view {
        assertEq(handler.ghostPayeeMismatches(), 0, "per-payee: credits differ from the rule of the recorded terms");
        assertTrue(handler.ghostMaxSettlements() <= 1, "per-payee: a job's escrow settled more than once");
        assertEq(handler.ghostOverCredited(), 0, "per-payee: a job credited more than its budget");
        assertEq(handler.ghostNonParticipantCredits(), 0, "per-payee: a credit went to a non-participant");
        for (uint256 j = 0; j < ledger.jobCount(); ++j) {
            JobTypes.Job memory job = ledger.job(j);
            bool settled = uint8(job.status) >= uint8(JobTypes.Status.Finalized);
            assertEq(handler.ghostSettlements(j), settled ? 1 : 0, "per-payee: settled exactly when terminal");
            assertEq(handler.ghostCredited(j), settled ? job.budget : 0, "per-payee: credited exactly the budget");
            assertEq(settlement.escrowOf(j), settled ? 0 : job.budget, "per-payee: escrow open until settled");
        }
    }

    function _onlyMembersInRoleChangeState() private view {
        assertEq(handler.ghostOutsiderSuccesses(), 0, "roles: an outsider's or ex-member's call changed state");
        assertEq(handler.ghostRoleViolations(), 0, "roles: an action succeeded without the role it needs now");
    }

    function _finalisationNeedsEverySignatureAndTheWindow() private view {
        assertEq(handler.ghostPrematureFinalizations(), 0, "finalise: before every signature or the window");
        for (uint256 j = 0; j < ledger.jobCount(); ++j) {
            JobTypes.Job memory job = ledger.job(j);
            if (job.status != JobTypes.Status.Finalized || handler.ghostByGovernance(j)) continue;
            (,, address[] memory attesters) = ledger.jobParties(j);
            assertEq(job.attestations, attesters.length, "finalise: a job finalised without every signature");
        }
    }

    function _governanceSettingsStayInRange() private view {
        assertTrue(settlement.feeBps() <= 3_000, "settings: fee above 30%");
        uint64 window = ledger.challengeWindow();
        assertTrue(window == WINDOW || (window >= 10 minutes && window <= 30 days), "settings: challenge window");
        uint64 attestation = ledger.attestationWindow();
        assertTrue(attestation >= 1 hours && attestation <= 7 days, "settings: attestation window");
        uint64 resolution = ledger.resolutionWindow();
        assertTrue(resolution >= 1 days && resolution <= 14 days, "settings: resolution window");
        uint64 ttl = consortium.proposalTtl();
        assertTrue(ttl >= 1 hours && ttl <= 30 days, "settings: proposal TTL");
    }

    /// @dev Recomputed job by job: what open DP jobs reserve and finalised ones reported is exactly
    /// what each source records; nothing ever exceeds a total; an ended job holds no reservation.
    function _privacyBudgetsHold() private view {
        assertEq(handler.ghostOverspendsAccepted(), 0, "budget: a job reserved more than was left");
        assertEq(handler.ghostBudgetViolations(), 0, "budget: a change by a non-owner or below what is used");
        uint256[4][3] memory sums; // per source: epsilon reserved, delta reserved, epsilon spent, delta spent
        for (uint256 j = 0; j < ledger.jobCount(); ++j) {
            PrivacyBudget.Reservation memory r = budget.reservationOf(j);
            if (r.stage == PrivacyBudget.Stage.None) continue;
            JobTypes.Status status = ledger.job(j).status;
            bool ended = uint8(status) >= uint8(JobTypes.Status.Finalized);
            assertEq(ended, r.stage == PrivacyBudget.Stage.Closed, "budget: a refund or an end did not release");
            for (uint256 i = 0; i < r.sourceIds.length; ++i) {
                uint256 k = _sourceIndex(r.sourceIds[i]);
                if (!ended) (sums[k][0], sums[k][1]) = (sums[k][0] + r.epsilons[i], sums[k][1] + r.delta);
                if (status == JobTypes.Status.Finalized) {
                    (sums[k][2], sums[k][3]) = (sums[k][2] + r.spent[i], sums[k][3] + r.delta);
                }
            }
        }
        for (uint256 k = 0; k < 3; ++k) {
            PrivacyBudget.Budget memory b = budget.budgetOf(sourceIds[k]);
            assertEq(b.epsilonReserved, sums[k][0], "budget: reservations conserved (epsilon)");
            assertEq(b.deltaReserved, sums[k][1], "budget: reservations conserved (delta)");
            assertEq(b.epsilonSpent, sums[k][2], "budget: spent is what finalised jobs reported (epsilon)");
            assertEq(b.deltaSpent, sums[k][3], "budget: spent is what finalised jobs reported (delta)");
            assertTrue(uint256(b.epsilonSpent) + b.epsilonReserved <= b.epsilonTotal, "budget: epsilon overspent");
            assertTrue(uint256(b.deltaSpent) + b.deltaReserved <= b.deltaTotal, "budget: delta overspent");
        }
    }

    function _sourceIndex(uint256 sourceId) private view returns (uint256) {
        for (uint256 k = 0; k < 3; ++k) {
            if (sourceIds[k] == sourceId) return k;
        }
        revert("budget: a reservation names an unknown source");
    }

    /// @notice Liveness: at the end of every run, with whoever went silent staying silent, each
    /// job ends at its own bound — time moves forward only to the earliest bound still pending
    /// (never past another job's), and only the job's requester (never removed here) acts.
    function afterInvariant() public {
        uint256 count = ledger.jobCount();
        for (uint256 step = 0; step < 3 * count; ++step) {
            (bool pending, uint256 jobId, uint256 endsAt) = _nextToEnd(count);
            if (!pending) break;
            if (endsAt > block.timestamp) vm.warp(endsAt);
            _drive(jobId);
        }
        for (uint256 j = 0; j < count; ++j) {
            assertTrue(uint8(ledger.job(j).status) >= uint8(JobTypes.Status.Finalized), "liveness: a job never ends");
        }
        assertEq(settlement.totalEscrowed(), 0, "liveness: escrow left locked");
        for (uint256 k = 0; k < 3; ++k) {
            assertEq(budget.budgetOf(sourceIds[k]).epsilonReserved, 0, "budget: an ended job still holds epsilon reserved");
        }
    }

    function _nextToEnd(uint256 count) private view returns (bool pending, uint256 jobId, uint256 endsAt) {
        endsAt = type(uint256).max;
        for (uint256 j = 0; j < count; ++j) {
            if (uint8(ledger.job(j).status) >= uint8(JobTypes.Status.Finalized)) continue;
            uint256 jobEnd = _earliestEnd(j);
            if (jobEnd < endsAt) (pending, jobId, endsAt) = (true, j, jobEnd);
        }
    }

    /// @dev When the job's liveness path opens: the deadline (uncommitted), the later of the
    /// challenge and attestation windows (committed), the resolution window (disputed).
    function _earliestEnd(uint256 jobId) private view returns (uint256) {
        JobTypes.Job memory job = ledger.job(jobId);
        (JobTypes.Terms memory terms, uint64 disputedAt) = ledger.jobTerms(jobId);
        if (job.status == JobTypes.Status.Open || job.status == JobTypes.Status.Ready) return uint256(job.deadline) + 1;
        if (job.status == JobTypes.Status.Committed) {
            uint64 longer = terms.challengeWindow > terms.attestationWindow ? terms.challengeWindow : terms.attestationWindow;
            return uint256(job.committedAt) + longer;
        }
        if (job.status == JobTypes.Status.Disputed) return uint256(disputedAt) + terms.resolutionWindow;
        return 0;
    }

    function _drive(uint256 jobId) private {
        JobTypes.Job memory job = ledger.job(jobId);
        bytes memory call;
        if (job.status == JobTypes.Status.Open || job.status == JobTypes.Status.Ready) {
            call = abi.encodeCall(ledger.cancel, (jobId));
        } else if (job.status == JobTypes.Status.Committed) {
            (,, address[] memory attesters) = ledger.jobParties(jobId);
            bool signed = job.attestations == attesters.length;
            call = signed ? abi.encodeCall(ledger.finalize, (jobId)) : abi.encodeCall(ledger.escalate, (jobId));
        } else if (job.status == JobTypes.Status.Disputed) {
            call = abi.encodeCall(ledger.settleUnresolved, (jobId));
        } else {
            return;
        }
        vm.prank(job.requester);
        (bool ok,) = address(ledger).call(call);
        assertTrue(ok, "liveness: the job's own path to an end reverted");
    }
}
