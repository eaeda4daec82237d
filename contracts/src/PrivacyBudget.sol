// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Governed} from "./base/Governed.sol";
import {IDataRegistry} from "./interfaces/IDataRegistry.sol";

/// @title PrivacyBudget
/// @notice Each data source's differential-privacy budget (ε_total, δ_total), set by its owner, and
/// the ledger of what DP jobs reserve at opening, spend at finalisation and release otherwise.
/// @dev Units: ε in micro-ε (1 ε = EPSILON_UNIT = 10^6), δ in atto-δ (1 = DELTA_UNIT = 10^18).
/// The JobLedger creates this contract and is the only caller of `open`, `spend`, `settle` and
/// `release`; every DP job's reservation lives here from opening until the job ends. Invariants:
/// spent + reserved ≤ total for ε and δ of every source at all times; `reserved` is the sum of
/// the open reservations; a job that ends without finalising returns its whole reservation.
contract PrivacyBudget is Governed {
    /// @notice Micro-ε per ε.
    uint64 public constant EPSILON_UNIT = 1e6;
    /// @notice Atto-δ per unit of δ; a budget's δ is at most 1.
    uint64 public constant DELTA_UNIT = 1e18;
    /// @notice The job kinds with a DP mechanism (bit k = kind k): SECURE_STATS (1) and FEDAVG (3).
    uint256 public constant DP_KINDS = (1 << 1) | (1 << 3);

    /// @notice A source's budget and what is spent and reserved from it.
    struct Budget {
        uint64 epsilonTotal;
        uint64 epsilonSpent;
        uint64 epsilonReserved;
        uint64 deltaTotal;
        uint64 deltaSpent;
        uint64 deltaReserved;
        bool exactForbidden;
    }

    /// @notice Where a job's reservation stands: none (an exact job), reserved, spend reported, closed.
    enum Stage {
        None,
        Reserved,
        Committed,
        Closed
    }

    /// @notice A DP job's reservation, aligned with its sources; `spent` is set at commit.
    struct Reservation {
        Stage stage;
        uint64 delta;
        uint256[] sourceIds;
        uint64[] epsilons;
        uint64[] spent;
    }

    IDataRegistry private immutable _registry;
    address private immutable _jobLedger;
    mapping(uint256 sourceId => Budget) private _budgets;
    mapping(uint256 jobId => Reservation) private _reservations;

    /// @notice The owner set the source's budget and whether it allows exact (non-DP) releases.
    event PrivacyBudgetSet(
        uint256 indexed sourceId, address indexed owner, uint64 epsilonTotal, uint64 deltaTotal, bool exactAllowed
    );
    /// @notice A DP job reserved ε and δ of the source at opening.
    event PrivacyBudgetReserved(uint256 indexed sourceId, uint256 indexed jobId, uint64 epsilon, uint64 delta);
    /// @notice A committed DP job reported the ε it spent per source (aligned with its sources).
    event PrivacySpendReported(uint256 indexed jobId, uint64[] epsilons, uint64 delta);
    /// @notice A finalised DP job's spend became final for the source.
    event PrivacyBudgetSpent(uint256 indexed sourceId, uint256 indexed jobId, uint64 epsilon, uint64 delta);
    /// @notice Reserved ε and δ returned to the source (the unspent part at finalisation, all of it otherwise).
    event PrivacyBudgetReleased(uint256 indexed sourceId, uint256 indexed jobId, uint64 epsilon, uint64 delta);

    /// @notice Only the JobLedger that created this contract may move reservations.
    error PrivacyBudgetOnlyJobLedger(address caller);
    /// @notice The caller does not own the source.
    error PrivacyBudgetNotSourceOwner(uint256 sourceId, address caller);
    /// @notice The new total is below what is spent plus reserved, or δ above 1.
    error PrivacyBudgetTotalTooLow(uint256 sourceId, uint64 total, uint256 committed);
    /// @notice The source's remaining ε is smaller than the job asks for.
    error PrivacyBudgetInsufficientEpsilon(uint256 sourceId, uint64 requested, uint64 remaining);
    /// @notice The source's remaining δ is smaller than the job asks for.
    error PrivacyBudgetInsufficientDelta(uint256 sourceId, uint64 requested, uint64 remaining);
    /// @notice The source's owner allows only DP releases, and this job would release an exact result.
    error PrivacyBudgetExactReleaseRefused(uint256 sourceId);
    /// @notice The kind has no DP mechanism, or ε is missing (zero) or misaligned with the sources.
    error PrivacyBudgetInvalidRequest(uint256 jobId, uint8 kind);
    /// @notice The reported spend is misaligned, or exceeds the reservation of a source.
    error PrivacyBudgetInvalidSpend(uint256 jobId, uint256 index);

    modifier onlyJobLedger() {
        if (msg.sender != _jobLedger) revert PrivacyBudgetOnlyJobLedger(msg.sender);
        _;
    }

    /// @param consortium_ The Consortium contract.
    /// @param registry_ The DataRegistry whose sources these budgets belong to.
    /// @dev The creator is the JobLedger.
    constructor(address consortium_, address registry_) Governed(consortium_) {
        if (registry_ == address(0)) revert GovernedZeroAddress();
        _registry = IDataRegistry(registry_);
        _jobLedger = msg.sender;
    }

    /// @notice The source's owner (a PROVIDER member now) sets its budget: any total no lower than
    /// what is spent plus reserved, so reservations already granted always stay covered.
    /// @param sourceId The source.
    /// @param epsilonTotal The total ε, in micro-ε.
    /// @param deltaTotal The total δ, in atto-δ, at most DELTA_UNIT.
    /// @param exactAllowed Whether jobs that release exact (non-DP) results may use the source.
    function setBudget(uint256 sourceId, uint64 epsilonTotal, uint64 deltaTotal, bool exactAllowed) external {
        _requireRoles(msg.sender, PROVIDER);
        if (_registry.source(sourceId).owner != msg.sender) revert PrivacyBudgetNotSourceOwner(sourceId, msg.sender);
        Budget storage b = _budgets[sourceId];
        uint256 epsilonUsed = uint256(b.epsilonSpent) + b.epsilonReserved;
        if (epsilonTotal < epsilonUsed) revert PrivacyBudgetTotalTooLow(sourceId, epsilonTotal, epsilonUsed);
        uint256 deltaUsed = uint256(b.deltaSpent) + b.deltaReserved;
        if (deltaTotal < deltaUsed || deltaTotal > DELTA_UNIT) {
            revert PrivacyBudgetTotalTooLow(sourceId, deltaTotal, deltaUsed);
        }
        b.epsilonTotal = epsilonTotal;
        b.deltaTotal = deltaTotal;
        b.exactForbidden = !exactAllowed;
        emit PrivacyBudgetSet(sourceId, msg.sender, epsilonTotal, deltaTotal, exactAllowed);
    }

    /// @notice At opening: an exact job (no ε) needs every source to allow exact releases; a DP job
    /// reserves `epsilons[i]` of source i and `delta` of every source, or reverts (JobLedger only).
    /// @param jobId The new job.
    /// @param kind Its kind; a DP job's kind must be in DP_KINDS.
    /// @param sourceIds Its sources.
    /// @param epsilons Empty (exact job), or the micro-ε to reserve per source, each above zero.
    /// @param delta The atto-δ to reserve on every source (DP jobs).
    function open(uint256 jobId, uint8 kind, uint256[] calldata sourceIds, uint64[] calldata epsilons, uint64 delta)
        external
        onlyJobLedger
    {
        if (epsilons.length == 0) {
            if (delta != 0) revert PrivacyBudgetInvalidRequest(jobId, kind);
            for (uint256 i = 0; i < sourceIds.length; ++i) {
                if (_budgets[sourceIds[i]].exactForbidden) revert PrivacyBudgetExactReleaseRefused(sourceIds[i]);
            }
            return;
        }
        if ((DP_KINDS >> kind) & 1 == 0 || epsilons.length != sourceIds.length) {
            revert PrivacyBudgetInvalidRequest(jobId, kind);
        }
        Reservation storage r = _reservations[jobId];
        r.stage = Stage.Reserved;
        r.delta = delta;
        for (uint256 i = 0; i < sourceIds.length; ++i) {
            if (epsilons[i] == 0) revert PrivacyBudgetInvalidRequest(jobId, kind);
            _reserve(sourceIds[i], jobId, epsilons[i], delta);
            r.sourceIds.push(sourceIds[i]);
            r.epsilons.push(epsilons[i]);
        }
    }

    /// @notice At commit: records the ε the job spent per source, each at most its reservation, and
    /// returns the hash the attestation covers (zero for an exact job, JobLedger only).
    /// @param jobId The job.
    /// @param spent Micro-ε spent per source (empty for an exact job).
    /// @return privacyHash keccak256(abi.encode(uint64[] spent, uint64 delta)), or zero for an exact job.
    function spend(uint256 jobId, uint64[] calldata spent) external onlyJobLedger returns (bytes32 privacyHash) {
        Reservation storage r = _reservations[jobId];
        if (r.stage == Stage.None && spent.length == 0) return bytes32(0);
        if (r.stage != Stage.Reserved || spent.length != r.epsilons.length) {
            revert PrivacyBudgetInvalidSpend(jobId, spent.length);
        }
        for (uint256 i = 0; i < spent.length; ++i) {
            if (spent[i] > r.epsilons[i]) revert PrivacyBudgetInvalidSpend(jobId, i);
        }
        r.spent = spent;
        r.stage = Stage.Committed;
        emit PrivacySpendReported(jobId, spent, r.delta);
        return keccak256(abi.encode(spent, r.delta));
    }

    /// @notice At finalisation: the reported spend (and the job's δ) becomes spent; the rest of the
    /// reservation returns to each source (JobLedger only; nothing for an exact job).
    /// @param jobId The job.
    function settle(uint256 jobId) external onlyJobLedger {
        Reservation storage r = _reservations[jobId];
        if (r.stage == Stage.None) return;
        r.stage = Stage.Closed;
        for (uint256 i = 0; i < r.sourceIds.length; ++i) {
            uint256 sourceId = r.sourceIds[i];
            Budget storage b = _budgets[sourceId];
            uint64 spent = r.spent[i];
            b.epsilonReserved -= r.epsilons[i];
            b.deltaReserved -= r.delta;
            b.epsilonSpent += spent;
            b.deltaSpent += r.delta;
            emit PrivacyBudgetSpent(sourceId, jobId, spent, r.delta);
            if (r.epsilons[i] > spent) emit PrivacyBudgetReleased(sourceId, jobId, r.epsilons[i] - spent, 0);
        }
    }

    /// @notice On cancel, abort or refund: the whole reservation returns (JobLedger only; nothing for an exact job).
    /// @param jobId The job.
    function release(uint256 jobId) external onlyJobLedger {
        Reservation storage r = _reservations[jobId];
        if (r.stage == Stage.None) return;
        r.stage = Stage.Closed;
        for (uint256 i = 0; i < r.sourceIds.length; ++i) {
            uint256 sourceId = r.sourceIds[i];
            Budget storage b = _budgets[sourceId];
            b.epsilonReserved -= r.epsilons[i];
            b.deltaReserved -= r.delta;
            emit PrivacyBudgetReleased(sourceId, jobId, r.epsilons[i], r.delta);
        }
    }

    /// @notice The source's budget, spent and reserved amounts, and whether it refuses exact releases.
    /// @param sourceId The source.
    function budgetOf(uint256 sourceId) external view returns (Budget memory) {
        return _budgets[sourceId];
    }

    /// @notice What a new job could still reserve from the source.
    /// @param sourceId The source.
    function remaining(uint256 sourceId) public view returns (uint64 epsilon, uint64 delta) {
        Budget storage b = _budgets[sourceId];
        epsilon = b.epsilonTotal - b.epsilonSpent - b.epsilonReserved;
        delta = b.deltaTotal - b.deltaSpent - b.deltaReserved;
    }

    /// @notice A job's reservation (stage None: an exact job).
    /// @param jobId The job.
    function reservationOf(uint256 jobId) external view returns (Reservation memory) {
        return _reservations[jobId];
    }

    /// @notice The JobLedger this budget answers to and the registry whose sources it covers.
    function wiring() external view returns (address jobLedger, address registry) {
        return (_jobLedger, address(_registry));
    }

    function _reserve(uint256 sourceId, uint256 jobId, uint64 epsilon, uint64 delta) private {
        (uint64 epsilonLeft, uint64 deltaLeft) = remaining(sourceId);
        if (epsilon > epsilonLeft) revert PrivacyBudgetInsufficientEpsilon(sourceId, epsilon, epsilonLeft);
        if (delta > deltaLeft) revert PrivacyBudgetInsufficientDelta(sourceId, delta, deltaLeft);
        Budget storage b = _budgets[sourceId];
        b.epsilonReserved += epsilon;
        b.deltaReserved += delta;
        emit PrivacyBudgetReserved(sourceId, jobId, epsilon, delta);
    }
}
