// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Governed} from "./base/Governed.sol";
import {PayoutMath} from "./libraries/PayoutMath.sol";
import {ISettlement} from "./interfaces/ISettlement.sol";

/// @title Settlement
/// @notice Escrows each job's budget, splits it on finalisation by the payout rule (with the fee
/// fixed when the job opened), refunds it on cancel/abort/dispute (paying source prices first when
/// the job was Ready), and lets every party withdraw its own credits (pull payments).
/// @dev Invariant: token balance == open escrows + unwithdrawn credits + stray tokens (sent here
/// directly, by mistake); only governance sweeps the stray part, never escrow or credits.
contract Settlement is ISettlement, Governed, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Largest fee governance may set: 30% of the pool after prices.
    uint16 public constant MAX_FEE_BPS = 3_000;

    IERC20 private immutable _token;
    address private immutable _jobLedger;
    uint16 private _feeBps;
    uint256 private _totalEscrowed;
    uint256 private _totalCredits;
    mapping(uint256 jobId => uint256) private _escrow;
    mapping(address account => uint256) private _credits;

    /// @notice A job's budget was pulled into escrow.
    event EscrowDeposited(uint256 indexed jobId, address indexed payer, uint256 amount);
    /// @notice An account was credited from a job's escrow.
    event PaymentCredited(uint256 indexed jobId, address indexed payee, uint256 amount);
    /// @notice A job's escrow was fully credited by the payout rule.
    event EscrowReleased(uint256 indexed jobId, uint256 amount, uint256 feeBps);
    /// @notice A job's escrow was credited back to its requester.
    event EscrowRefunded(uint256 indexed jobId, address indexed requester, uint256 amount);
    /// @notice An account withdrew its credits.
    event PaymentWithdrawn(address indexed payee, uint256 amount);
    /// @notice A rotated member's successor took over its credits.
    event CreditsClaimed(address indexed predecessor, address indexed successor, uint256 amount);
    /// @notice Governance changed the compute fee of jobs opened from now on.
    event FeeChanged(uint256 oldFeeBps, uint256 newFeeBps);
    /// @notice Governance swept tokens sent here by mistake (never escrow or credits).
    event StraySwept(address indexed token, address indexed to, uint256 amount);

    /// @notice Only the JobLedger may move escrow.
    error SettlementOnlyJobLedger(address caller);
    /// @notice The fee exceeds MAX_FEE_BPS.
    error SettlementInvalidFee(uint256 feeBps);
    /// @notice The job already has escrow, or has none to release.
    error SettlementEscrowState(uint256 jobId, uint256 escrow);
    /// @notice Nothing to withdraw.
    error SettlementNothingToWithdraw(address account);
    /// @notice Payees and shares are misaligned.
    error SettlementInvalidPayees();
    /// @notice The caller is not the member `predecessor`'s identity was rotated to.
    error SettlementNotSuccessor(address predecessor, address caller);
    /// @notice The sweep asks for more than the stray balance.
    error SettlementSweepTooLarge(uint256 amount, uint256 stray);

    modifier onlyJobLedger() {
        if (msg.sender != _jobLedger) revert SettlementOnlyJobLedger(msg.sender);
        _;
    }

    /// @param consortium_ The Consortium contract.
    /// @param token_ The settlement token.
    /// @param jobLedger_ The JobLedger contract (may be deployed after this one).
    /// @param feeBps_ The compute fee in basis points.
    constructor(address consortium_, address token_, address jobLedger_, uint16 feeBps_) Governed(consortium_) {
        if (token_ == address(0) || jobLedger_ == address(0)) revert GovernedZeroAddress();
        if (feeBps_ > MAX_FEE_BPS) revert SettlementInvalidFee(feeBps_);
        _token = IERC20(token_);
        _jobLedger = jobLedger_;
        _feeBps = feeBps_;
    }

    /// @notice Pulls a job's budget from `payer` into escrow (JobLedger only).
    /// @param jobId The job.
    /// @param payer The requester, who approved (or permitted) this contract.
    /// @param amount The budget.
    function deposit(uint256 jobId, address payer, uint256 amount) external onlyJobLedger nonReentrant {
        if (_escrow[jobId] != 0) revert SettlementEscrowState(jobId, _escrow[jobId]);
        _escrow[jobId] = amount;
        _totalEscrowed += amount;
        emit EscrowDeposited(jobId, payer, amount);
        // `payer` is not arbitrary: only JobLedger calls this, always with the job's requester (its msg.sender).
        // slither-disable-next-line arbitrary-send-erc20
        _token.safeTransferFrom(payer, address(this), amount);
    }

    /// @notice Credits a job's whole escrow by the payout rule (JobLedger only).
    /// @param jobId The job.
    /// @param owners The owner of each of the job's sources.
    /// @param prices Each source's price per use, as recorded at opening.
    /// @param weights Each source's contribution weight.
    /// @param computeParties The job's compute parties; the first one receives the dust.
    /// @param jobFeeBps The fee fixed when the job opened.
    function release(
        uint256 jobId,
        address[] calldata owners,
        uint256[] calldata prices,
        uint256[] calldata weights,
        address[] calldata computeParties,
        uint16 jobFeeBps
    ) external onlyJobLedger {
        if (owners.length != prices.length) revert SettlementInvalidPayees();
        uint256 escrow = _take(jobId);
        (uint256[] memory shares, uint256 computeShare, uint256 dust) =
            PayoutMath.split(escrow, prices, jobFeeBps, computeParties.length, weights);
        for (uint256 i = 0; i < owners.length; ++i) {
            _credit(jobId, owners[i], shares[i]);
        }
        _credit(jobId, computeParties[0], computeShare + dust);
        for (uint256 j = 1; j < computeParties.length; ++j) {
            _credit(jobId, computeParties[j], computeShare);
        }
        emit EscrowReleased(jobId, escrow, jobFeeBps);
    }

    /// @notice Credits `prices[i]` to `owners[i]`, then the rest of a job's escrow to its requester
    /// (JobLedger only; empty arrays refund everything).
    /// @param jobId The job.
    /// @param requester The job's requester.
    /// @param owners Source owners paid before the refund.
    /// @param prices What each is paid; their sum never exceeds the escrow (budget >= prices at opening).
    function refund(uint256 jobId, address requester, address[] calldata owners, uint256[] calldata prices)
        external
        onlyJobLedger
    {
        if (owners.length != prices.length) revert SettlementInvalidPayees();
        uint256 escrow = _take(jobId);
        uint256 paid = 0;
        for (uint256 i = 0; i < owners.length; ++i) {
            paid += prices[i];
            _credit(jobId, owners[i], prices[i]);
        }
        _credit(jobId, requester, escrow - paid);
        emit EscrowRefunded(jobId, requester, escrow - paid);
    }

    /// @notice Transfers all of the caller's credits to the caller.
    /// @return amount What was transferred.
    function withdraw() external nonReentrant onlyMember returns (uint256 amount) {
        amount = _credits[msg.sender];
        if (amount == 0) revert SettlementNothingToWithdraw(msg.sender);
        _credits[msg.sender] = 0;
        _totalCredits -= amount;
        emit PaymentWithdrawn(msg.sender, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @notice The successor of a rotated member moves the old address's credits to itself (again
    /// whenever jobs recorded with the old address credit it).
    /// @param predecessor The rotated member's old address.
    /// @return amount What moved.
    function claimCredits(address predecessor) external onlyMember returns (uint256 amount) {
        if (_consortium.successorOf(predecessor) != msg.sender) revert SettlementNotSuccessor(predecessor, msg.sender);
        amount = _credits[predecessor];
        _credits[predecessor] = 0;
        _credits[msg.sender] += amount;
        emit CreditsClaimed(predecessor, msg.sender, amount);
    }

    /// @notice Sets the compute fee of jobs opened from now on (governance only).
    /// @param feeBps_ Basis points of the pool after prices; at most MAX_FEE_BPS.
    function setFeeBps(uint16 feeBps_) external onlyGovernance {
        if (feeBps_ > MAX_FEE_BPS) revert SettlementInvalidFee(feeBps_);
        uint256 old = _feeBps;
        _feeBps = feeBps_;
        emit FeeChanged(old, feeBps_);
    }

    /// @notice Sends tokens that reached this contract outside `deposit` to a member (governance only).
    /// For the settlement token only the stray part (balance - escrows - credits) moves.
    /// @param asset The token to sweep.
    /// @param to The recipient.
    /// @param amount How much.
    function sweep(IERC20 asset, address to, uint256 amount) external onlyGovernance nonReentrant {
        if (to == address(0)) revert GovernedZeroAddress();
        uint256 stray = asset.balanceOf(address(this));
        if (address(asset) == address(_token)) stray -= _totalEscrowed + _totalCredits;
        if (amount > stray) revert SettlementSweepTooLarge(amount, stray);
        emit StraySwept(address(asset), to, amount);
        asset.safeTransfer(to, amount);
    }

    /// @notice The payout rule applied to given numbers, for clients that recompute payouts.
    /// @return sourceShares Per source: price plus weighted share.
    /// @return computeShare Per compute party.
    /// @return dust Extra for compute party 0.
    function previewSplit(
        uint256 escrow,
        uint256[] calldata prices,
        uint256 feeBps_,
        uint256 computeCount,
        uint256[] calldata weights
    ) external pure returns (uint256[] memory sourceShares, uint256 computeShare, uint256 dust) {
        return PayoutMath.split(escrow, prices, feeBps_, computeCount, weights);
    }

    /// @notice The compute fee new jobs get, in basis points (each job keeps its own: JobLedger.jobTerms).
    function feeBps() external view returns (uint16) {
        return _feeBps;
    }

    /// @notice Tokens here that are neither escrow nor credits (sent by mistake; governance may sweep them).
    function strayBalance() external view returns (uint256) {
        return _token.balanceOf(address(this)) - _totalEscrowed - _totalCredits;
    }

    /// @notice The settlement token.
    function token() external view returns (address) {
        return address(_token);
    }

    /// @notice The JobLedger allowed to move escrow.
    function jobLedger() external view returns (address) {
        return _jobLedger;
    }

    /// @notice A job's open escrow (zero once released or refunded).
    function escrowOf(uint256 jobId) external view returns (uint256) {
        return _escrow[jobId];
    }

    /// @notice An account's unwithdrawn credits.
    function creditOf(address account) external view returns (uint256) {
        return _credits[account];
    }

    /// @notice The sum of all open escrows.
    function totalEscrowed() external view returns (uint256) {
        return _totalEscrowed;
    }

    /// @notice The sum of all unwithdrawn credits.
    function totalCredits() external view returns (uint256) {
        return _totalCredits;
    }

    function _take(uint256 jobId) private returns (uint256 escrow) {
        escrow = _escrow[jobId];
        if (escrow == 0) revert SettlementEscrowState(jobId, 0);
        _escrow[jobId] = 0;
        _totalEscrowed -= escrow;
    }

    function _credit(uint256 jobId, address payee, uint256 amount) private {
        if (amount == 0) return;
        _credits[payee] += amount;
        _totalCredits += amount;
        emit PaymentCredited(jobId, payee, amount);
    }
}
