// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {CustosFixture} from "./fixtures/CustosFixture.sol";
import {Settlement} from "../src/Settlement.sol";
import {Governed} from "../src/base/Governed.sol";
import {PayoutMath} from "../src/libraries/PayoutMath.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

contract SettlementTest is CustosFixture {
    function test_WithdrawTransfersCreditsOnce() public {
        _finalizedJob();
        uint256 credit = settlement.creditOf(compute1);
        uint256 before = token.balanceOf(compute1);
        vm.prank(compute1);
        assertEq(settlement.withdraw(), credit, "amount");
        assertEq(token.balanceOf(compute1), before + credit, "paid");
        assertEq(settlement.creditOf(compute1), 0, "credit cleared");
        vm.prank(compute1);
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementNothingToWithdraw.selector, compute1));
        settlement.withdraw();
    }

    function test_GovernanceSetsFee() public {
        _govern(address(settlement), abi.encodeCall(Settlement.setFeeBps, (250)));
        assertEq(settlement.feeBps(), 250, "fee");
    }

    function test_ViewsReportWiring() public view {
        assertEq(settlement.token(), address(token), "token");
        assertEq(settlement.jobLedger(), address(ledger), "ledger");
        assertEq(settlement.totalEscrowed(), 0, "no escrow");
    }

    function test_RevertWhen_SetFeeDirectlyOrAboveWhole() public {
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernedOnlyGovernance.selector, requester));
        settlement.setFeeBps(1);
        vm.prank(requester);
        uint256 id = consortium.propose(address(settlement), abi.encodeCall(Settlement.setFeeBps, (3_001)), "");
        vm.prank(provider1);
        consortium.approve(id);
        vm.prank(provider2);
        consortium.approve(id);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementInvalidFee.selector, 3_001));
        consortium.execute(id);
    }

    function test_RevertWhen_EscrowMovedByOtherThanLedger() public {
        bytes memory err = abi.encodeWithSelector(Settlement.SettlementOnlyJobLedger.selector, requester);
        vm.startPrank(requester);
        vm.expectRevert(err);
        settlement.deposit(0, requester, 1);
        vm.expectRevert(err);
        settlement.release(0, new address[](0), new uint256[](0), new uint256[](0), new address[](0), 0);
        vm.expectRevert(err);
        settlement.refund(0, requester, new address[](0), new uint256[](0));
        vm.stopPrank();
    }

    function test_RevertWhen_LedgerDepositsTwiceOrReleasesNothing() public {
        vm.startPrank(address(ledger));
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementEscrowState.selector, 4, 0));
        settlement.refund(4, requester, new address[](0), new uint256[](0));
        vm.stopPrank();
        vm.prank(requester);
        token.approve(address(settlement), 2);
        vm.startPrank(address(ledger));
        settlement.deposit(4, requester, 1);
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementEscrowState.selector, 4, 1));
        settlement.deposit(4, requester, 1);
        vm.expectRevert(Settlement.SettlementInvalidPayees.selector);
        settlement.release(4, new address[](1), new uint256[](0), new uint256[](0), new address[](1), 0);
        vm.stopPrank();
    }

    function test_RevertWhen_OutsiderWithdraws() public {
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernedUnauthorizedMember.selector, outsider, 0));
        settlement.withdraw();
    }

    function test_RevertWhen_ConstructedBadly() public {
        vm.expectRevert(Governed.GovernedZeroAddress.selector);
        new Settlement(address(consortium), address(0), address(ledger), 0);
        vm.expectRevert(Governed.GovernedZeroAddress.selector);
        new Settlement(address(consortium), address(token), address(0), 0);
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementInvalidFee.selector, 3_001));
        new Settlement(address(consortium), address(token), address(ledger), 3_001);
    }

    function test_RevertWhen_SplitInputsInvalid() public {
        uint256[] memory one = new uint256[](1);
        one[0] = 1;
        vm.expectRevert(PayoutMath.PayoutMathNoComputeParty.selector);
        settlement.previewSplit(10, one, 0, 0, one);
        vm.expectRevert(PayoutMath.PayoutMathInvalidWeights.selector);
        settlement.previewSplit(10, one, 0, 1, new uint256[](1));
        vm.expectRevert(PayoutMath.PayoutMathInvalidWeights.selector);
        settlement.previewSplit(10, new uint256[](0), 0, 1, new uint256[](0));
        vm.expectRevert(abi.encodeWithSelector(PayoutMath.PayoutMathEscrowBelowPrices.selector, 0, 1));
        settlement.previewSplit(0, one, 0, 1, one);
    }

    /// @dev The split credits exactly the escrow; each party gets its rule's share; dust < parties.
    function testFuzz_SplitSumsToEscrowExactly(
        uint256 escrow,
        uint128[4] memory rawPrices,
        uint256[4] memory rawWeights,
        uint8 sources,
        uint8 computeCount,
        uint16 feeBps
    ) public view {
        uint256 m = bound(computeCount, 1, 16);
        feeBps = uint16(bound(feeBps, 0, 10_000));
        (uint256[] memory prices, uint256[] memory weights, uint256 priceSum) =
            _arrays(rawPrices, rawWeights, bound(sources, 1, 4));
        escrow = bound(escrow, priceSum, type(uint256).max / 2);
        _checkSplit(escrow, prices, weights, m, priceSum, feeBps);
    }

    function _arrays(uint128[4] memory rawPrices, uint256[4] memory rawWeights, uint256 n)
        private
        pure
        returns (uint256[] memory prices, uint256[] memory weights, uint256 priceSum)
    {
        prices = new uint256[](n);
        weights = new uint256[](n);
        uint256 weightSum = 0;
        for (uint256 i = 0; i < n; ++i) {
            prices[i] = rawPrices[i];
            weights[i] = bound(rawWeights[i], 0, type(uint256).max / 8);
            priceSum += prices[i];
            weightSum += weights[i];
        }
        if (weightSum == 0) weights[0] = 1;
    }

    function _checkSplit(
        uint256 escrow,
        uint256[] memory prices,
        uint256[] memory weights,
        uint256 m,
        uint256 priceSum,
        uint256 feeBps
    ) private view {
        (uint256[] memory shares, uint256 computeShare, uint256 dust) = settlement.previewSplit(escrow, prices, feeBps, m, weights);
        uint256 total = computeShare * m + dust;
        for (uint256 i = 0; i < prices.length; ++i) {
            assertTrue(shares[i] >= prices[i], "a source gets at least its price");
            total += shares[i];
        }
        assertEq(total, escrow, "credits sum to the escrow");
        assertEq(computeShare, Math.mulDiv(escrow - priceSum, feeBps, 10_000) / m, "equal fee shares");
        assertTrue(dust < m + prices.length, "dust is below one unit per party");
    }

    /// @dev End to end through finalize: credits equal escrow and token balance covers them.
    function testFuzz_FinalizeCreditsEqualBudget(uint96 budget, uint64 w0, uint64 w1) public {
        uint256 b = bound(budget, 30 ether, ALLOCATION);
        vm.assume(uint256(w0) + uint256(w1) > 0);
        uint256[] memory ids = new uint256[](2);
        ids[0] = _register(provider1, 10 ether);
        ids[1] = _register(provider2, 20 ether);
        uint256 jobId = _open(ids, b);
        vm.prank(provider1);
        ledger.consent(jobId, ids[0]);
        vm.prank(provider2);
        ledger.consent(jobId, ids[1]);
        vm.prank(compute2);
        ledger.commitResult(jobId, 0, 0, _weights(w0, w1), 0);
        _attestAll(jobId);
        vm.warp(block.timestamp + WINDOW);
        vm.prank(requester);
        ledger.finalize(jobId);
        uint256 sum = settlement.creditOf(provider1) + settlement.creditOf(provider2) + settlement.creditOf(compute1)
            + settlement.creditOf(compute2);
        assertEq(sum, b, "credits == budget");
        assertEq(settlement.totalCredits(), b, "total credits");
        assertEq(token.balanceOf(address(settlement)), b, "token held");
    }
}
