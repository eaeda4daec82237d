// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title ISettlement
/// @notice The escrow operations the job ledger drives.
interface ISettlement {
    /// @notice Pulls a job's budget from `payer` into escrow.
    function deposit(uint256 jobId, address payer, uint256 amount) external;

    /// @notice Credits a job's escrow by the payout rule.
    function release(
        uint256 jobId,
        address[] calldata owners,
        uint256[] calldata prices,
        uint256[] calldata weights,
        address[] calldata computeParties,
        uint16 jobFeeBps
    ) external;

    /// @notice Credits `prices[i]` to `owners[i]`, then the rest of a job's escrow to its requester.
    function refund(uint256 jobId, address requester, address[] calldata owners, uint256[] calldata prices) external;

    /// @notice The compute fee new jobs get, in basis points.
    function feeBps() external view returns (uint16);

    /// @notice The settlement token.
    function token() external view returns (address);
}
