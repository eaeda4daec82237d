// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Vm} from "../lib/Vm.sol";
import {Consortium} from "../../src/Consortium.sol";
import {CustosToken} from "../../src/CustosToken.sol";
import {Settlement} from "../../src/Settlement.sol";
import {JobLedger} from "../../src/JobLedger.sol";
import {AuditAnchor} from "../../src/AuditAnchor.sol";
import {JobTypes} from "../../src/base/JobTypes.sol";

/// @notice Drives random job lifecycles (members acting in role, outsiders trying everything)
/// and keeps ghost records of every escrow movement the contracts report.
contract JobHandler {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    bytes32 private constant CREDITED = keccak256("PaymentCredited(uint256,address,uint256)");
    bytes32 private constant RELEASED = keccak256("EscrowReleased(uint256,uint256,uint256)");
    bytes32 private constant REFUNDED = keccak256("EscrowRefunded(uint256,address,uint256)");

    Consortium private immutable consortium;
    CustosToken private immutable token;
    Settlement private immutable settlement;
    JobLedger private immutable ledger;
    AuditAnchor private immutable anchorContract;

    address[] public members;
    uint256[] private keys;
    mapping(address account => uint256) private keyOf;
    address[] public outsiders;
    uint256[3] private sources;
    address[3] private sourceOwners;

    /// @notice Ghosts: settlements and credits per job, credits to non-participants,
    /// outsiders' successful state changes.
    mapping(uint256 jobId => uint256) public ghostSettlements;
    mapping(uint256 jobId => uint256) public ghostCredited;
    uint256 public ghostNonParticipantCredits;
    uint256 public ghostOutsiderSuccesses;
    uint256 public ghostMaxSettlements;
    uint256 public ghostOverCredited;
    uint256 public ghostFinalized;

    constructor(
        Consortium consortium_,
        CustosToken token_,
        Settlement settlement_,
        JobLedger ledger_,
        AuditAnchor anchor_,
        address[] memory members_,
        uint256[] memory keys_,
        address[] memory outsiders_,
        uint256[3] memory sources_,
        address[3] memory owners_
    ) {
        (consortium, token, settlement, ledger, anchorContract) = (consortium_, token_, settlement_, ledger_, anchor_);
        (members, keys, outsiders, sources, sourceOwners) = (members_, keys_, outsiders_, sources_, owners_);
        for (uint256 i = 0; i < keys_.length; ++i) keyOf[members_[i]] = keys_[i];
    }

    function memberCount() external view returns (uint256) {
        return members.length;
    }

    function outsiderCount() external view returns (uint256) {
        return outsiders.length;
    }

    function _job(uint256 seed) private view returns (bool, uint256) {
        uint256 count = ledger.jobCount();
        if (count == 0) return (false, 0);
        return (true, seed % count);
    }

    function openJob(uint256 budgetSeed, uint8 mask, bool twoCompute, bool byProvider2) external {
        address requester = byProvider2 ? members[2] : members[0];
        uint256 n = 0;
        uint256[] memory picked = new uint256[](3);
        for (uint256 i = 0; i < 3; ++i) {
            if (mask & (1 << i) != 0) picked[n++] = sources[i];
        }
        if (n == 0) picked[n++] = sources[0];
        uint256[] memory ids = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) ids[i] = picked[i];
        address[] memory parties = new address[](twoCompute ? 2 : 1);
        parties[0] = members[3];
        if (twoCompute) parties[1] = members[4];
        uint256 budget = 60 + (budgetSeed % 1_000_000);
        vm.startPrank(requester);
        token.approve(address(settlement), budget);
        ledger.openJob(3, ids, keccak256("p"), parties, budget, uint64(block.timestamp + 3 days));
        vm.stopPrank();
    }

    function consent(uint256 jobSeed, uint256 sourceSeed) external {
        (bool ok, uint256 jobId) = _job(jobSeed);
        if (!ok) return;
        (uint256[] memory ids,, address[] memory owners,) = ledger.jobSources(jobId);
        uint256 k = sourceSeed % ids.length;
        vm.prank(owners[k]);
        ledger.consent(jobId, ids[k]);
    }

    function commit(uint256 jobSeed, uint64 w0, uint64 w1, uint64 w2, bool second) external {
        (bool ok, uint256 jobId) = _job(jobSeed);
        if (!ok) return;
        (uint256[] memory ids,,,) = ledger.jobSources(jobId);
        uint256[] memory weights = new uint256[](ids.length);
        uint64[3] memory raw = [w0, w1, w2];
        for (uint256 i = 0; i < ids.length; ++i) weights[i] = raw[i];
        (address[] memory parties,,) = ledger.jobParties(jobId);
        vm.prank(parties[second ? parties.length - 1 : 0]);
        ledger.commitResult(jobId, keccak256("r"), keccak256("t"), weights, keccak256("u"));
    }

    function attest(uint256 jobSeed, uint256 signerSeed, uint256 submitterSeed) external {
        (bool ok, uint256 jobId) = _job(jobSeed);
        if (!ok) return;
        (,, address[] memory attesters) = ledger.jobParties(jobId);
        address signer = attesters[signerSeed % attesters.length];
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(keyOf[signer], ledger.attestationDigest(jobId));
        vm.prank(members[submitterSeed % members.length]);
        ledger.attest(jobId, signer, abi.encodePacked(r, s, v));
    }

    /// @dev Moves a job up to `steps` steps along its happy path, so random runs reach
    /// finalisation often (a step: one consent, the commit, one attestation, or finalise).
    function progress(uint256 jobSeed, uint64 weightSeed, uint8 steps) external {
        (bool ok, uint256 jobId) = _job(jobSeed);
        if (!ok) return;
        for (uint256 i = 0; i <= steps % 12; ++i) {
            _step(jobId, weightSeed);
        }
    }

    function _step(uint256 jobId, uint64 weightSeed) private {
        JobTypes.Job memory job = ledger.job(jobId);
        (uint256[] memory ids,, address[] memory owners,) = ledger.jobSources(jobId);
        (address[] memory parties,, address[] memory attesters) = ledger.jobParties(jobId);
        if (job.status == JobTypes.Status.Open) {
            for (uint256 i = 0; i < ids.length; ++i) {
                if (ledger.hasConsented(jobId, ids[i])) continue;
                vm.prank(owners[i]);
                ledger.consent(jobId, ids[i]);
                return;
            }
        } else if (job.status == JobTypes.Status.Ready) {
            uint256[] memory weights = new uint256[](ids.length);
            for (uint256 i = 0; i < ids.length; ++i) weights[i] = uint256(keccak256(abi.encode(weightSeed, i))) % 1e18;
            vm.prank(parties[weightSeed % parties.length]);
            ledger.commitResult(jobId, keccak256("r"), keccak256("t"), weights, keccak256("u"));
        } else if (job.status == JobTypes.Status.Committed) {
            for (uint256 i = 0; i < attesters.length; ++i) {
                if (ledger.hasAttested(jobId, attesters[i])) continue;
                (uint8 v, bytes32 r, bytes32 s) = vm.sign(keyOf[attesters[i]], ledger.attestationDigest(jobId));
                vm.prank(members[0]);
                ledger.attest(jobId, attesters[i], abi.encodePacked(r, s, v));
                return;
            }
            vm.warp(block.timestamp + ledger.challengeWindow());
            vm.recordLogs();
            vm.prank(members[weightSeed % members.length]);
            ledger.finalize(jobId);
            ++ghostFinalized;
            _account();
        }
    }

    function warp(uint256 secondsSeed) external {
        vm.warp(block.timestamp + (secondsSeed % 2 days));
    }

    function finalize(uint256 jobSeed, uint256 callerSeed) external {
        (bool ok, uint256 jobId) = _job(jobSeed);
        if (!ok) return;
        vm.recordLogs();
        vm.prank(members[callerSeed % members.length]);
        ledger.finalize(jobId);
        ++ghostFinalized;
        _account();
    }

    function dispute(uint256 jobSeed, uint256 callerSeed) external {
        (bool ok, uint256 jobId) = _job(jobSeed);
        if (!ok) return;
        vm.prank(members[callerSeed % members.length]);
        ledger.dispute(jobId, keccak256("evidence"));
    }

    function resolve(uint256 jobSeed, bool releaseEscrow) external {
        (bool ok, uint256 jobId) = _job(jobSeed);
        if (!ok) return;
        vm.prank(members[0]);
        uint256 id = consortium.propose(address(ledger), abi.encodeCall(JobLedger.resolveDispute, (jobId, releaseEscrow)), "");
        for (uint256 i = 1; i < consortium.threshold(); ++i) {
            vm.prank(members[i]);
            consortium.approve(id);
        }
        vm.recordLogs();
        vm.prank(members[0]);
        consortium.execute(id);
        _account();
    }

    function cancel(uint256 jobSeed, bool byProvider2) external {
        (bool ok, uint256 jobId) = _job(jobSeed);
        if (!ok) return;
        vm.recordLogs();
        vm.prank(byProvider2 ? members[2] : members[0]);
        ledger.cancel(jobId);
        _account();
    }

    function abort(uint256 jobSeed, uint256 callerSeed) external {
        (bool ok, uint256 jobId) = _job(jobSeed);
        if (!ok) return;
        vm.recordLogs();
        vm.prank(members[callerSeed % members.length]);
        ledger.abort(jobId, "abort");
        _account();
    }

    function withdraw(uint256 callerSeed) external {
        vm.prank(members[callerSeed % members.length]);
        settlement.withdraw();
    }

    /// @dev An outsider (never or no longer a member) tries one state-changing call.
    function outsiderActs(uint256 who, uint8 action, uint256 jobSeed) external {
        address outsider = outsiders[who % outsiders.length];
        uint256 jobId = jobSeed % (ledger.jobCount() + 1);
        bytes memory sig = new bytes(65);
        uint256[] memory one = new uint256[](1);
        address target = address(ledger);
        bytes memory data;
        action = action % 10;
        if (action == 0) data = abi.encodeCall(JobLedger.consent, (jobId, sources[0]));
        else if (action == 1) data = abi.encodeCall(JobLedger.commitResult, (jobId, 0, 0, one, 0));
        else if (action == 2) data = abi.encodeCall(JobLedger.attest, (jobId, members[1], sig));
        else if (action == 3) data = abi.encodeCall(JobLedger.finalize, (jobId));
        else if (action == 4) data = abi.encodeCall(JobLedger.dispute, (jobId, 0));
        else if (action == 5) data = abi.encodeCall(JobLedger.cancel, (jobId));
        else if (action == 6) data = abi.encodeCall(JobLedger.abort, (jobId, 0));
        else if (action == 7) (target, data) = (address(settlement), abi.encodeCall(Settlement.withdraw, ()));
        else if (action == 8) (target, data) = (address(anchorContract), abi.encodeCall(AuditAnchor.anchor, (keccak256("x"), 1, 0)));
        else (target, data) = (address(consortium), abi.encodeCall(Consortium.propose, (address(consortium), "", "")));
        vm.prank(outsider);
        (bool success,) = target.call(data);
        if (success) ++ghostOutsiderSuccesses;
    }

    /// @dev Reads the escrow events of the last call: who was credited, how often each job settled.
    function _account() private {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].emitter != address(settlement)) continue;
            bytes32 topic = logs[i].topics[0];
            uint256 jobId = uint256(logs[i].topics[1]);
            if (topic == CREDITED) {
                address payee = address(uint160(uint256(logs[i].topics[2])));
                ghostCredited[jobId] += abi.decode(logs[i].data, (uint256));
                if (!ledger.isParticipant(jobId, payee)) ++ghostNonParticipantCredits;
                if (ghostCredited[jobId] > ledger.job(jobId).budget) ++ghostOverCredited;
            } else if (topic == RELEASED || topic == REFUNDED) {
                uint256 settled = ++ghostSettlements[jobId];
                if (settled > ghostMaxSettlements) ghostMaxSettlements = settled;
            }
        }
    }
}
