// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @notice The payout and refund rules of docs/protocol.md, written again from the document
/// (not calling PayoutMath), so the invariants compare the contracts against the rule itself.
library PayoutOracle {
    /// @dev One credit as Settlement emits it.
    struct Credit {
        address payee;
        uint256 amount;
    }

    /// @notice The credits of a finalisation, in emission order, zero credits left out.
    function split(
        uint256 escrow,
        address[] memory owners,
        uint256[] memory prices,
        uint256[] memory weights,
        address[] memory computeParties,
        uint256 feeBps
    ) internal pure returns (Credit[] memory credits) {
        (uint256 rest, uint256 each) = _pools(escrow, prices, feeBps, computeParties.length);
        uint256 weightSum = 0;
        for (uint256 i = 0; i < weights.length; ++i) weightSum += weights[i];
        uint256 m = computeParties.length;
        credits = new Credit[](owners.length + m);
        uint256 paid = 0;
        for (uint256 i = 0; i < owners.length; ++i) {
            credits[i] = Credit(owners[i], prices[i] + rest * weights[i] / weightSum);
            paid += credits[i].amount;
        }
        credits[owners.length] = Credit(computeParties[0], escrow - paid - each * (m - 1));
        for (uint256 j = 1; j < m; ++j) {
            credits[owners.length + j] = Credit(computeParties[j], each);
        }
        return _nonZero(credits);
    }

    /// @dev (the pool left for weights after prices and fee, each compute party's fee share).
    function _pools(uint256 escrow, uint256[] memory prices, uint256 feeBps, uint256 m)
        private
        pure
        returns (uint256 rest, uint256 each)
    {
        uint256 priceSum = 0;
        for (uint256 i = 0; i < prices.length; ++i) priceSum += prices[i];
        uint256 pool = escrow - priceSum;
        uint256 fee = pool * feeBps / 10_000;
        return (pool - fee, fee / m);
    }

    /// @notice The credits of a refund: each owner's price (if `priced`, and not `unpaid`'s), then the rest.
    function refund(
        uint256 escrow,
        address requester,
        address[] memory owners,
        uint256[] memory prices,
        bool priced,
        address unpaid
    ) internal pure returns (Credit[] memory credits) {
        uint256 n = priced ? owners.length : 0;
        credits = new Credit[](n + 1);
        uint256 paid = 0;
        for (uint256 i = 0; i < n; ++i) {
            uint256 price = owners[i] == unpaid ? 0 : prices[i];
            credits[i] = Credit(owners[i], price);
            paid += price;
        }
        credits[n] = Credit(requester, escrow - paid);
        return _nonZero(credits);
    }

    function _nonZero(Credit[] memory all) private pure returns (Credit[] memory kept) {
        uint256 k = 0;
        for (uint256 i = 0; i < all.length; ++i) {
            if (all[i].amount != 0) ++k;
        }
        kept = new Credit[](k);
        k = 0;
        for (uint256 i = 0; i < all.length; ++i) {
            if (all[i].amount != 0) kept[k++] = all[i];
        }
    }
}
