// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Governed} from "./base/Governed.sol";

/// @title AuditAnchor
/// @notice Merkle roots of batches of off-chain audit records: one transaction per batch,
/// each record provable by an OpenZeppelin MerkleProof (leaves keccak256(keccak256(data))).
/// @dev Only AUDITOR or VALIDATOR members anchor; tags are namespaced by the sender (`batchesOf`),
/// so one member cannot crowd or shadow another's tag.
contract AuditAnchor is Governed {
    /// @notice One anchored batch.
    struct Batch {
        bytes32 root;
        uint64 count;
        uint64 anchoredAt;
        address anchoredBy;
        bytes32 tag;
    }

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

    /// @param consortium_ The Consortium contract.
    constructor(address consortium_) Governed(consortium_) {}

    /// @notice Anchors the Merkle root of a batch of off-chain audit records.
    /// @param root The batch's Merkle root (ledger/merkle.py).
    /// @param count How many records the batch holds; not zero.
    /// @param tag What the batch is (e.g. a job id or a record kind), free-form within the sender's namespace.
    /// @return batchId The new batch's id (index from 0).
    function anchor(bytes32 root, uint64 count, bytes32 tag) external onlyMember returns (uint256 batchId) {
        if (!_consortium.hasRoles(msg.sender, AUDITOR) && !_consortium.hasRoles(msg.sender, VALIDATOR)) {
            revert AuditAnchorNotAuditor(msg.sender);
        }
        if (root == bytes32(0) || count == 0) revert AuditAnchorInvalidBatch(root, count);
        batchId = _batches.length;
        _batches.push(Batch(root, count, uint64(block.timestamp), msg.sender, tag));
        _byTag[msg.sender][tag].push(batchId);
        emit BatchAnchored(batchId, root, tag, count, msg.sender);
    }

    /// @notice An anchored batch.
    /// @param batchId The batch.
    function batch(uint256 batchId) external view returns (Batch memory) {
        if (batchId >= _batches.length) revert AuditAnchorUnknownBatch(batchId);
        return _batches[batchId];
    }

    /// @notice The batches `anchoredBy` anchored under `tag`, oldest first.
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
}
