// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title PayoutMath
/// @notice The payout rule of docs/protocol.md, in exact integer arithmetic.
library PayoutMath {
    /// @notice Basis points in one whole.
    uint256 internal constant BPS = 10_000;

    /// @notice The escrow is below the sum of the source prices.
    error PayoutMathEscrowBelowPrices(uint256 escrow, uint256 prices);
    /// @notice Weights are empty, misaligned with prices, or sum to zero.
    error PayoutMathInvalidWeights();
    /// @notice No compute party to receive the fee and the dust.
    error PayoutMathNoComputeParty();

    /// @notice Splits `escrow`: prices to sources, `feeBps` of the rest equally to `computeCount`
    /// parties, the remainder by weight to sources; integer dust goes to compute party 0.
    /// @return sourceShares Per source: its price plus its weighted share.
    /// @return computeShare What each compute party gets (before dust).
    /// @return dust What compute party 0 gets on top.
    function split(
        uint256 escrow,
        uint256[] memory prices,
        uint256 feeBps,
        uint256 computeCount,
        uint256[] memory weights
    ) internal pure returns (uint256[] memory sourceShares, uint256 computeShare, uint256 dust) {
        if (computeCount == 0) revert PayoutMathNoComputeParty();
        (uint256 priceSum, uint256 weightSum) = _sums(prices, weights);
        if (escrow < priceSum) revert PayoutMathEscrowBelowPrices(escrow, priceSum);
        uint256 pool = escrow - priceSum;
        uint256 fee = Math.mulDiv(pool, feeBps, BPS);
        computeShare = fee / computeCount;
        uint256 weighted;
        (sourceShares, weighted) = _byWeight(pool - fee, prices, weights, weightSum);
        // Dividing first is the rule: equal integer fee shares, the remainder becomes dust.
        // slither-disable-next-line divide-before-multiply
        dust = escrow - priceSum - computeShare * computeCount - weighted;
    }

    function _sums(uint256[] memory prices, uint256[] memory weights)
        private
        pure
        returns (uint256 priceSum, uint256 weightSum)
    {
        uint256 n = prices.length;
        if (n == 0 || weights.length != n) revert PayoutMathInvalidWeights();
        for (uint256 i = 0; i < n; ++i) {
            priceSum += prices[i];
            weightSum += weights[i];
        }
        if (weightSum == 0) revert PayoutMathInvalidWeights();
    }

    function _byWeight(uint256 rest, uint256[] memory prices, uint256[] memory weights, uint256 weightSum)
        private
        pure
        returns (uint256[] memory shares, uint256 weighted)
    {
        shares = new uint256[](prices.length);
        for (uint256 i = 0; i < prices.length; ++i) {
            uint256 share = Math.mulDiv(rest, weights[i], weightSum);
            shares[i] = prices[i] + share;
            weighted += share;
        }
    }
}
