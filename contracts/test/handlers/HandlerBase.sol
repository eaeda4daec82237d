// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Vm} from "../lib/Vm.sol";
import {Consortium} from "../../src/Consortium.sol";
import {CustosToken} from "../../src/CustosToken.sol";
import {Settlement} from "../../src/Settlement.sol";
import {JobLedger} from "../../src/JobLedger.sol";
import {JobWindows} from "../../src/base/JobWindows.sol";
import {AuditAnchor} from "../../src/AuditAnchor.sol";
import {DataRegistry} from "../../src/DataRegistry.sol";
import {PrivacyBudget} from "../../src/PrivacyBudget.sol";
import {JobTypes} from "../../src/base/JobTypes.sol";
import {PayoutOracle} from "./PayoutOracle.sol";

/// @notice The handler's actors, governance helper and escrow accounting: before each settling
/// call the handler computes the credits the rule implies from the job's recorded terms
/// (PayoutOracle), and after it compares them with the credits Settlement emitted.
abstract contract HandlerBase {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    bytes32 private constant CREDITED = keccak256("PaymentCredited(uint256,address,uint256)");
    bytes32 private constant RELEASED = keccak256("EscrowReleased(uint256,uint256,uint256)");
    bytes32 private constant REFUNDED = keccak256("EscrowRefunded(uint256,address,uint256)");
    uint8 internal constant REQUESTER = 1;
    uint8 internal constant PROVIDER = 2;
    uint8 internal constant COMPUTE = 4;
    uint8 internal constant AUDITOR = 8;

    /// @notice The contracts under test.
    struct Deployed {
        Consortium consortium;
        CustosToken token;
        DataRegistry registry;
        Settlement settlement;
        JobLedger ledger;
        AuditAnchor anchor;
    }

    Consortium internal immutable consortium;
    CustosToken internal immutable token;
    DataRegistry internal immutable registry;
    Settlement internal immutable settlement;
    JobLedger internal immutable ledger;
    AuditAnchor internal immutable anchorContract;
    PrivacyBudget internal immutable budget;

    /// @notice The six founders (some removed at times), their original roles, and outsiders.
    address[] public members;
    uint8[] internal founderRoles;
    mapping(address account => uint256) internal keyOf;
    address[] public outsiders;
    uint256[3] internal sources;

    /// @notice Ghosts: settlements and credits per job, and counters of every broken rule seen.
    mapping(uint256 jobId => uint256) public ghostSettlements;
    mapping(uint256 jobId => uint256) public ghostCredited;
    mapping(uint256 jobId => bool) public ghostByGovernance;
    uint256 public ghostMaxSettlements;
    uint256 public ghostOverCredited;
    uint256 public ghostNonParticipantCredits;
    uint256 public ghostPayeeMismatches;
    uint256 public ghostOutsiderSuccesses;
    uint256 public ghostRoleViolations;
    uint256 public ghostPrematureFinalizations;
    uint256 public ghostLivenessViolations;
    uint256 public ghostStray;
    uint256 public ghostFinalized;

    constructor(
        Deployed memory d,
        address[] memory members_,
        uint8[] memory roles_,
        uint256[] memory keys_,
        address[] memory outsiders_,
        uint256[3] memory sources_
    ) {
        (consortium, token, registry, settlement, ledger, anchorContract) =
            (d.consortium, d.token, d.registry, d.settlement, d.ledger, d.anchor);
        budget = PrivacyBudget(d.ledger.privacyBudget());
        (members, founderRoles, outsiders, sources) = (members_, roles_, outsiders_, sources_);
        for (uint256 i = 0; i < keys_.length; ++i) keyOf[members_[i]] = keys_[i];
    }

    function memberCount() external view returns (uint256) {
        return members.length;
    }

    function outsiderCount() external view returns (uint256) {
        return outsiders.length;
    }

    /// @dev A DP job's spend to report: per source a seeded share of its reservation (sometimes all).
    function _dpSpend(uint256 jobId, uint256 seed) internal view returns (bool dp, uint64[] memory spent) {
        PrivacyBudget.Reservation memory r = budget.reservationOf(jobId);
        if (r.stage == PrivacyBudget.Stage.None) return (false, spent);
        spent = new uint64[](r.epsilons.length);
        for (uint256 i = 0; i < spent.length; ++i) {
            spent[i] = uint64(uint256(keccak256(abi.encode(seed, i))) % (uint256(r.epsilons[i]) + 1));
        }
        return (true, spent);
    }

    /// @dev Half the time the newest job, so consecutive actions meet on one job's lifecycle.
    function _job(uint256 seed) internal view returns (bool, uint256) {
        uint256 count = ledger.jobCount();
        if (count == 0) return (false, 0);
        return (true, seed % 2 == 0 ? count - 1 : (seed >> 1) % count);
    }

    /// @dev Proposes, gathers approvals from current members up to the threshold and executes.
    function _govern(address target, bytes memory data) internal {
        address[] memory current = consortium.members();
        vm.prank(current[0]);
        uint256 id = consortium.propose(target, data, "");
        for (uint256 i = 1; i < consortium.threshold(); ++i) {
            vm.prank(current[i]);
            consortium.approve(id);
        }
        vm.prank(current[0]);
        consortium.execute(id);
    }

    /// @dev Sets the global attestation window far from the job's recorded one (a read of the
    /// global setting then decides differently) and warps to the job's bound or a second before.
    function _moveAttestationWindowAround(uint256 jobId, uint64 recorded, bool atBound) internal {
        JobTypes.Job memory job = ledger.job(jobId);
        if (job.status != JobTypes.Status.Committed) return;
        uint64 moved = recorded > 3 days ? 1 hours : 7 days;
        _govern(address(ledger), abi.encodeCall(JobWindows.setAttestationWindow, (moved)));
        uint256 target = uint256(job.committedAt) + recorded - (atBound ? 0 : 1);
        if (target > block.timestamp) vm.warp(target);
    }

    function _expectSplit(uint256 jobId) internal view returns (PayoutOracle.Credit[] memory) {
        (,, address[] memory owners, uint256[] memory prices) = ledger.jobSources(jobId);
        (address[] memory parties, uint256[] memory weights,) = ledger.jobParties(jobId);
        (JobTypes.Terms memory terms,) = ledger.jobTerms(jobId);
        if (weights.length == 0) return new PayoutOracle.Credit[](0); // nothing committed: nothing may be paid
        return PayoutOracle.split(ledger.job(jobId).budget, owners, prices, weights, parties, terms.feeBps);
    }

    function _expectRefund(uint256 jobId, bool priced, address unpaid)
        internal
        view
        returns (PayoutOracle.Credit[] memory)
    {
        (,, address[] memory owners, uint256[] memory prices) = ledger.jobSources(jobId);
        JobTypes.Job memory job = ledger.job(jobId);
        return PayoutOracle.refund(job.budget, job.requester, owners, prices, priced, unpaid);
    }

    /// @dev Compares the credits the last call emitted with `expected`, and counts settlements.
    function _settle(PayoutOracle.Credit[] memory expected) internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 k = 0;
        bool mismatch = false;
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].emitter != address(settlement)) continue;
            bytes32 topic = logs[i].topics[0];
            uint256 jobId = uint256(logs[i].topics[1]);
            if (topic == CREDITED) {
                address payee = address(uint160(uint256(logs[i].topics[2])));
                uint256 amount = abi.decode(logs[i].data, (uint256));
                ghostCredited[jobId] += amount;
                if (!ledger.isParticipant(jobId, payee)) ++ghostNonParticipantCredits;
                if (ghostCredited[jobId] > ledger.job(jobId).budget) ++ghostOverCredited;
                if (k >= expected.length || expected[k].payee != payee || expected[k].amount != amount) mismatch = true;
                ++k;
            } else if (topic == RELEASED || topic == REFUNDED) {
                uint256 settled = ++ghostSettlements[jobId];
                if (settled > ghostMaxSettlements) ghostMaxSettlements = settled;
            }
        }
        if (mismatch || k != expected.length) ++ghostPayeeMismatches;
    }

    /// @dev A successful finalisation must have had every signature and its whole window.
    function _checkFinalizable(uint256 jobId) internal view returns (bool) {
        JobTypes.Job memory job = ledger.job(jobId);
        (,, address[] memory attesters) = ledger.jobParties(jobId);
        (JobTypes.Terms memory terms,) = ledger.jobTerms(jobId);
        return job.attestations == attesters.length && block.timestamp >= job.committedAt + terms.challengeWindow;
    }

    function _finalize(uint256 jobId, address caller) internal {
        bool allowed = _checkFinalizable(jobId);
        PayoutOracle.Credit[] memory expected = _expectSplit(jobId);
        vm.recordLogs();
        vm.prank(caller);
        ledger.finalize(jobId);
        if (!allowed) ++ghostPrematureFinalizations;
        ++ghostFinalized;
        _settle(expected);
    }
}
