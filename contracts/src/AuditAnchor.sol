// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Governed} from "./base/Governed.sol";
import {IJobLedger} from "./interfaces/IJobLedger.sol";

/// @title AuditAnchor
/// @notice Merkle roots of batches of off-chain audit records: one transaction per batch,
/// each record provable by an OpenZeppelin MerkleProof (leaves keccak256(keccak256(data))).
/// @dev Who may anchor: AUDITOR or VALIDATOR members anchor anything (`anchor`); any member that
/// takes part in a job anchors its own records of that job (`anchorJobRecords`), at most
/// MAX_JOB_BATCHES batches per (member, job). Tags are namespaced by the sender (`batchesOf`), so
/// one member cannot crowd or shadow another's tag; job-record tags are reserved to `anchorJobRecords`.
contract AuditAnchor is Governed {
    /// @notice Most batches one member may anchor about one job through `anchorJobRecords`.
    /// @dev A runner anchors a job's records once, when the job ends; a retry after a crash or a
    /// record that came late takes one more. The cap bounds what a member can add per job, so a
    /// member floods no faster than it becomes a participant of jobs, and each job costs a
    /// requester an escrowed opening (or a provider a registered source that a requester chose):
    /// at most MAX_JOB_BATCHES × (1 + MAX_SOURCES + MAX_COMPUTE_PARTIES) batches per job in all.
    /// The job need not have ended, so a long job's records can be dated while it runs, and this
    /// contract depends on no job state beyond who takes part.
    uint256 public constant MAX_JOB_BATCHES = 4;
    /// @notice The first 16 bytes of every job-records tag; `anchor` refuses tags that start with them.
    bytes16 public constant JOB_TAG_PREFIX = "custos.job-recs";

    /// @notice One anchored batch.
    struct Batch {
        bytes32 root;
        uint64 count;
        uint64 anchoredAt;
        address anchoredBy;
        bytes32 tag;
    }

    IJobLedger private immutable _jobLedger;
    Batch[] private _batches;
    mapping(address anchoredBy => mapping(bytes32 tag => uint256[])) private _byTag;

    /// @notice A member anchored a batch of `count` records under `root`.
    event BatchAnchored(uint256 indexed batchId, bytes32 indexed root, bytes32 indexed tag, uint64 count, address anchoredBy);

    /// @notice The root is zero or the count is zero.
    error AuditAnchorInvalidBatch(bytes32 root, uint64 count);
    /// @notice The caller holds neither AUDITOR nor VALIDATOR.
    error AuditAnchorNotAuditor(address caller);
    /// @notice No batch has this id.
    error AuditAnchorUnknownBatch(uint256 batchId);
    /// @notice The caller takes no part in the job (or the job does not exist).
    error AuditAnchorNotJobParticipant(uint256 jobId, address caller);
    /// @notice The caller already anchored `limit` batches of this job's records.
    error AuditAnchorJobBatchLimit(uint256 jobId, address caller, uint256 limit);
    /// @notice The tag starts with JOB_TAG_PREFIX: only `anchorJobRecords` anchors under it.
    error AuditAnchorReservedTag(bytes32 tag);

    /// @param consortium_ The Consortium contract.
    /// @param jobLedger_ The JobLedger contract, asked who takes part in a job.
    constructor(address consortium_, address jobLedger_) Governed(consortium_) {
        if (jobLedger_ == address(0)) revert GovernedZeroAddress();
        _jobLedger = IJobLedger(jobLedger_);
    }

    /// @notice Anchors the Merkle root of a batch of off-chain audit records (AUDITOR or VALIDATOR members).
    /// @param root The batch's Merkle root (ledger/merkle.py).
    /// @param count How many records the batch holds; not zero.
    /// @param tag What the batch is (e.g. a record kind), free-form within the sender's namespace
    /// except for tags starting with JOB_TAG_PREFIX.
    /// @return batchId The new batch's id (index from 0).
    function anchor(bytes32 root, uint64 count, bytes32 tag) external onlyMember returns (uint256 batchId) {
        if (!_consortium.hasRoles(msg.sender, AUDITOR) && !_consortium.hasRoles(msg.sender, VALIDATOR)) {
            revert AuditAnchorNotAuditor(msg.sender);
        }
        if (bytes16(tag) == JOB_TAG_PREFIX) revert AuditAnchorReservedTag(tag);
        return _anchor(root, count, tag);
    }

    /// @notice Anchors the root of a batch of the caller's own records of job `jobId` (its data
    /// accesses, its failures), under `jobRecordsTag(jobId)` in the caller's namespace.
    /// @dev Any current member that takes part in the job (requester, source owner, compute party;
    /// the attesters are among these), whatever its roles; at most MAX_JOB_BATCHES per (member, job).
    /// @param jobId The job the records are about.
    /// @param root The batch's Merkle root (ledger/merkle.py).
    /// @param count How many records the batch holds; not zero.
    /// @return batchId The new batch's id (index from 0).
    function anchorJobRecords(uint256 jobId, bytes32 root, uint64 count) external onlyMember returns (uint256 batchId) {
        if (!_jobLedger.isParticipant(jobId, msg.sender)) revert AuditAnchorNotJobParticipant(jobId, msg.sender);
        bytes32 tag = jobRecordsTag(jobId);
        if (_byTag[msg.sender][tag].length >= MAX_JOB_BATCHES) {
            revert AuditAnchorJobBatchLimit(jobId, msg.sender, MAX_JOB_BATCHES);
        }
        return _anchor(root, count, tag);
    }

    /// @notice The tag of job `jobId`'s record batches: JOB_TAG_PREFIX, then the job id in the low 16 bytes.
    /// @dev Job ids count from 0 and never reach 2^128; a larger id is no job, so nobody anchors under its tag.
    /// @param jobId The job.
    function jobRecordsTag(uint256 jobId) public pure returns (bytes32) {
        return bytes32(JOB_TAG_PREFIX) | bytes32(uint256(uint128(jobId)));
    }

    /// @notice The JobLedger this contract asks who takes part in a job.
    function jobLedger() external view returns (address) {
        return address(_jobLedger);
    }

    /// @notice An anchored batch.
    /// @param batchId The batch.
    function batch(uint256 batchId) external view returns (Batch memory) {
        if (batchId >= _batches.length) revert AuditAnchorUnknownBatch(batchId);
        return _batches[batchId];
    }

    /// @notice The batches `anchoredBy` anchored under `tag`, oldest first (a job's records:
    /// `batchesOf(member, jobRecordsTag(jobId))`).
    /// @param anchoredBy The member.
    /// @param tag The tag.
    function batchesOf(address anchoredBy, bytes32 tag) external view returns (uint256[] memory) {
        return _byTag[anchoredBy][tag];
    }

    /// @notice How many batches were anchored.
    function batchCount() external view returns (uint256) {
        return _batches.length;
    }

    /// @notice Whether `leaf` (keccak256(keccak256(record))) is in the batch.
    /// @param batchId The batch.
    /// @param proof Sibling hashes from leaf to root.
    /// @param leaf The record's leaf hash.
    function verifyRecord(uint256 batchId, bytes32[] calldata proof, bytes32 leaf) external view returns (bool) {
        if (batchId >= _batches.length) revert AuditAnchorUnknownBatch(batchId);
        return MerkleProof.verifyCalldata(proof, _batches[batchId].root, leaf);
    }

    function _anchor(bytes32 root, uint64 count, bytes32 tag) private returns (uint256 batchId) {
        if (root == bytes32(0) || count == 0) revert AuditAnchorInvalidBatch(root, count);
        batchId = _batches.length;
        _batches.push(Batch(root, count, uint64(block.timestamp), msg.sender, tag));
        _byTag[msg.sender][tag].push(batchId);
        emit BatchAnchored(batchId, root, tag, count, msg.sender);
    }
}
