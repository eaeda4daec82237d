// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {CustosFixture} from "./fixtures/CustosFixture.sol";
import {PrivacyBudget} from "../src/PrivacyBudget.sol";
import {JobTypes} from "../src/base/JobTypes.sol";
import {Governed} from "../src/base/Governed.sol";
import {AttestationVerifier} from "../src/base/AttestationVerifier.sol";

/// @notice Per-source DP budgets: set by the owner, reserved at opening, spent at finalisation,
/// released by every other end; never overspent, not even by two concurrent jobs.
contract PrivacyBudgetTest is CustosFixture {
    uint64 private constant EPS = 1e6; // 1 ε in micro-ε
    uint64 private constant DELTA = 1e12; // 1e-6 in atto-δ
    PrivacyBudget private budget;
    uint256 private source1;
    uint256 private source2;

    function setUp() public override {
        super.setUp();
        budget = PrivacyBudget(ledger.privacyBudget());
        source1 = _register(provider1, 10 ether);
        source2 = _register(provider2, 20 ether);
        vm.prank(provider1);
        budget.setBudget(source1, 2 * EPS, 10 * DELTA, false);
        vm.prank(provider2);
        budget.setBudget(source2, 2 * EPS, 10 * DELTA, true);
        vm.prank(requester);
        token.approve(address(settlement), type(uint256).max);
    }

    function _eps(uint64 a, uint64 b) private pure returns (uint64[] memory e) {
        e = new uint64[](2);
        (e[0], e[1]) = (a, b);
    }

    /// @dev The requester opens a DP job on both sources (Settlement holds its allowance from setUp).
    function _openDp(uint8 kind, uint64[] memory epsilons, uint64 delta) private returns (uint256 jobId) {
        vm.prank(requester);
        jobId = ledger.openDpJob(
            kind,
            _ids(source1, source2),
            keccak256("params"),
            _computeParties(),
            1000 ether,
            1000 ether,
            uint64(block.timestamp + 7 days),
            JobTypes.DpRequest(epsilons, delta)
        );
    }

    function _readyDp(uint64 a, uint64 b) private returns (uint256 jobId) {
        jobId = _openDp(FEDAVG, _eps(a, b), DELTA);
        vm.prank(provider1);
        ledger.consent(jobId, source1);
        vm.prank(provider2);
        ledger.consent(jobId, source2);
    }

    function _commitDp(uint256 jobId, uint64 a, uint64 b) private {
        vm.prank(compute1);
        ledger.commitDpResult(jobId, keccak256("r"), keccak256("t"), _weights(1, 1), keccak256("u"), _eps(a, b));
    }

    function _signAll(uint256 jobId) private {
        bytes32 digest = ledger.attestationDigest(jobId);
        uint256[3] memory keys = [PROVIDER1_KEY, PROVIDER2_KEY, COMPUTE1_KEY];
        for (uint256 i = 0; i < keys.length; ++i) {
            vm.prank(requester);
            ledger.attest(jobId, vm.addr(keys[i]), _sign(keys[i], digest));
        }
    }

    function _used(uint256 sourceId) private view returns (PrivacyBudget.Budget memory b) {
        b = budget.budgetOf(sourceId);
    }

    function test_OwnerSetsBudgetAndTheLedgerIsWired() public view {
        PrivacyBudget.Budget memory b = _used(source1);
        assertEq(b.epsilonTotal, 2 * EPS, "epsilon total");
        assertEq(b.deltaTotal, 10 * DELTA, "delta total");
        assertTrue(b.exactForbidden, "source 1 allows only DP releases");
        (address jobLedger, address reg) = budget.wiring();
        assertEq(jobLedger, address(ledger), "ledger");
        assertEq(reg, address(registry), "registry");
    }

    function test_RevertWhen_AnotherMemberSetsTheBudget() public {
        vm.prank(provider2);
        vm.expectRevert(abi.encodeWithSelector(PrivacyBudget.PrivacyBudgetNotSourceOwner.selector, source1, provider2));
        budget.setBudget(source1, 100 * EPS, DELTA, true);
    }

    function test_RevertWhen_AnyoneButTheLedgerMovesReservations() public {
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(PrivacyBudget.PrivacyBudgetOnlyJobLedger.selector, requester));
        budget.release(0);
    }

    function test_BudgetLowersToSpentPlusReservedButNoFurther() public {
        _readyDp(EPS / 2, EPS / 2);
        vm.prank(provider1);
        vm.expectRevert(
            abi.encodeWithSelector(PrivacyBudget.PrivacyBudgetTotalTooLow.selector, source1, EPS / 2 - 1, EPS / 2)
        );
        budget.setBudget(source1, EPS / 2 - 1, 10 * DELTA, false);
        vm.prank(provider1);
        budget.setBudget(source1, EPS / 2, 10 * DELTA, false);
        (uint64 left,) = budget.remaining(source1);
        assertEq(left, 0, "nothing left once lowered to the reservation");
    }

    function test_RevertWhen_DeltaTotalAboveOne() public {
        vm.prank(provider1);
        vm.expectRevert(abi.encodeWithSelector(PrivacyBudget.PrivacyBudgetTotalTooLow.selector, source1, 1e18 + 1, 0));
        budget.setBudget(source1, EPS, 1e18 + 1, false);
    }

    function test_OpenDpJobReservesOnEverySource() public {
        vm.expectEmit(address(budget));
        emit PrivacyBudget.PrivacyBudgetReserved(source1, 0, EPS, DELTA);
        _openDp(FEDAVG, _eps(EPS, EPS / 4), DELTA);
        assertEq(_used(source1).epsilonReserved, EPS, "source 1 reserved");
        assertEq(_used(source2).epsilonReserved, EPS / 4, "source 2 reserved");
        assertEq(_used(source2).deltaReserved, DELTA, "delta reserved");
        PrivacyBudget.Reservation memory r = budget.reservationOf(0);
        assertEq(uint8(r.stage), uint8(PrivacyBudget.Stage.Reserved), "stage");
        assertEq(r.epsilons[1], EPS / 4, "reservation recorded");
    }

    function test_RevertWhen_TwoConcurrentJobsWouldOverspend() public {
        _openDp(FEDAVG, _eps(3 * EPS / 2, EPS), DELTA);
        vm.expectRevert(
            abi.encodeWithSelector(PrivacyBudget.PrivacyBudgetInsufficientEpsilon.selector, source1, EPS, EPS / 2)
        );
        _openDp(FEDAVG, _eps(EPS, EPS / 2), DELTA);
        assertEq(_used(source1).epsilonReserved, 3 * EPS / 2, "the refused job reserved nothing");
        assertEq(ledger.jobCount(), 1, "the refused job does not exist");
    }

    function test_RevertWhen_DeltaComposesPastTheBudget() public {
        for (uint256 i = 0; i < 10; ++i) {
            _openDp(FEDAVG, _eps(1, 1), DELTA);
        }
        vm.expectRevert(
            abi.encodeWithSelector(PrivacyBudget.PrivacyBudgetInsufficientDelta.selector, source1, DELTA, 0)
        );
        _openDp(FEDAVG, _eps(1, 1), DELTA);
    }

    function test_RevertWhen_ANonDpKindDeclaresEpsilon() public {
        vm.expectRevert(abi.encodeWithSelector(PrivacyBudget.PrivacyBudgetInvalidRequest.selector, 0, PSI));
        _openDp(PSI, _eps(1, 1), DELTA);
    }

    function test_RevertWhen_AnExactJobUsesADpOnlySource() public {
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(PrivacyBudget.PrivacyBudgetExactReleaseRefused.selector, source1));
        ledger.openJob(
            FEDAVG,
            _ids(source1, source2),
            keccak256("p"),
            _computeParties(),
            1000 ether,
            1000 ether,
            uint64(block.timestamp + 7 days)
        );
    }

    function test_FinaliseSpendsTheReportAndReleasesTheRest() public {
        uint256 jobId = _readyDp(EPS, EPS);
        _commitDp(jobId, EPS / 4, EPS);
        _signAll(jobId);
        vm.warp(block.timestamp + WINDOW);
        vm.expectEmit(address(budget));
        emit PrivacyBudget.PrivacyBudgetSpent(source1, jobId, EPS / 4, DELTA);
        vm.expectEmit(address(budget));
        emit PrivacyBudget.PrivacyBudgetReleased(source1, jobId, 3 * EPS / 4, 0);
        vm.prank(auditor);
        ledger.finalize(jobId);
        PrivacyBudget.Budget memory b = _used(source1);
        assertEq(b.epsilonSpent, EPS / 4, "spent");
        assertEq(b.epsilonReserved, 0, "reservation closed");
        assertEq(b.deltaSpent, DELTA, "delta spent");
        (uint64 left, uint64 deltaLeft) = budget.remaining(source1);
        assertEq(left, 2 * EPS - EPS / 4, "remaining epsilon");
        assertEq(deltaLeft, 9 * DELTA, "remaining delta");
    }

    function test_RevertWhen_TheSpendExceedsTheReservation() public {
        uint256 jobId = _readyDp(EPS / 2, EPS / 2);
        vm.prank(compute1);
        vm.expectRevert(abi.encodeWithSelector(PrivacyBudget.PrivacyBudgetInvalidSpend.selector, jobId, 1));
        ledger.commitDpResult(
            jobId, keccak256("r"), keccak256("t"), _weights(1, 1), keccak256("u"), _eps(EPS / 2, EPS / 2 + 1)
        );
    }

    function test_RevertWhen_ADpJobCommitsWithoutItsSpend() public {
        uint256 jobId = _readyDp(EPS / 2, EPS / 2);
        vm.prank(compute1);
        vm.expectRevert(abi.encodeWithSelector(PrivacyBudget.PrivacyBudgetInvalidSpend.selector, jobId, 0));
        ledger.commitResult(jobId, keccak256("r"), keccak256("t"), _weights(1, 1), keccak256("u"));
    }

    function test_TheAttestationCoversTheSpend() public {
        uint256 jobId = _readyDp(EPS, EPS);
        _commitDp(jobId, EPS / 2, EPS / 3);
        JobTypes.Job memory job = ledger.job(jobId);
        bytes32 typeHash = keccak256(
            "Attestation(uint256 jobId,bytes32 inputsHash,bytes32 resultHash,bytes32 transcriptRoot,bytes32 contributionHash,bytes32 privacyHash)"
        );
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Custos JobLedger"),
                keccak256("1"),
                block.chainid,
                address(ledger)
            )
        );
        bytes32 honest = keccak256(abi.encode(_eps(EPS / 2, EPS / 3), DELTA));
        bytes32 lower = keccak256(abi.encode(_eps(EPS / 4, EPS / 3), DELTA));
        bytes32[2] memory hashes = [honest, lower];
        bytes32[2] memory digests;
        for (uint256 i = 0; i < 2; ++i) {
            bytes32 structHash = keccak256(
                abi.encode(
                    typeHash, jobId, job.inputsHash, job.resultHash, job.transcriptRoot, job.contributionHash, hashes[i]
                )
            );
            digests[i] = keccak256(abi.encodePacked("\x19\x01", domain, structHash));
        }
        assertEq(ledger.attestationDigest(jobId), digests[0], "digest covers the reported spend");
        // A provider who saw a smaller spend signs that figure: its signature does not verify.
        bytes memory sig = _sign(PROVIDER1_KEY, digests[1]);
        vm.prank(requester);
        vm.expectPartialRevert(AttestationVerifier.JobLedgerWrongSigner.selector);
        ledger.attest(jobId, provider1, sig);
    }

    function test_AbortReleasesTheWholeReservation() public {
        uint256 jobId = _readyDp(EPS, EPS / 2);
        vm.prank(requester);
        ledger.abort(jobId, "changed my mind");
        _assertReleased(jobId);
    }

    function test_CancelReleasesTheWholeReservation() public {
        uint256 jobId = _openDp(FEDAVG, _eps(EPS, EPS / 2), DELTA);
        vm.warp(block.timestamp + 8 days);
        vm.prank(requester);
        ledger.cancel(jobId);
        _assertReleased(jobId);
    }

    function test_ARefundedDisputeReleasesTheWholeReservation() public {
        uint256 jobId = _readyDp(EPS, EPS / 2);
        _commitDp(jobId, EPS, EPS / 2);
        vm.prank(provider1);
        ledger.dispute(jobId, keccak256("evidence"));
        _govern(address(ledger), abi.encodeCall(ledger.resolveDispute, (jobId, false)));
        _assertReleased(jobId);
    }

    function test_SettleUnresolvedReleasesTheWholeReservation() public {
        uint256 jobId = _readyDp(EPS, EPS / 2);
        _commitDp(jobId, EPS, EPS / 2);
        vm.prank(provider1);
        ledger.dispute(jobId, keccak256("evidence"));
        vm.warp(block.timestamp + 15 days);
        vm.prank(requester);
        ledger.settleUnresolved(jobId);
        _assertReleased(jobId);
    }

    function _assertReleased(uint256 jobId) private view {
        assertEq(uint8(budget.reservationOf(jobId).stage), uint8(PrivacyBudget.Stage.Closed), "closed");
        for (uint256 i = 0; i < 2; ++i) {
            PrivacyBudget.Budget memory b = _used(i == 0 ? source1 : source2);
            assertEq(b.epsilonReserved, 0, "epsilon released");
            assertEq(b.deltaReserved, 0, "delta released");
            assertEq(b.epsilonSpent, 0, "nothing spent");
        }
    }

    function test_RevertWhen_ARemovedProviderSetsABudget() public {
        _govern(address(consortium), abi.encodeCall(consortium.removeMember, (provider1)));
        vm.prank(provider1);
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernedUnauthorizedMember.selector, provider1, 2));
        budget.setBudget(source1, 100 * EPS, DELTA, true);
    }
}
