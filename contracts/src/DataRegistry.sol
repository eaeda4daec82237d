// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Governed} from "./base/Governed.sol";
import {IDataRegistry} from "./interfaces/IDataRegistry.sol";

/// @title DataRegistry
/// @notice Data sources: schema, salted Merkle commitment over rows (with every past version),
/// price per use, allowed job kinds, who may use them and when they consent on their own.
/// @dev Only a source's owner, holding PROVIDER at the time, changes it; a retired source stays
/// readable but unusable; a source whose owner is no longer a PROVIDER member is unusable, and
/// governance may retire it.
contract DataRegistry is IDataRegistry, Governed {
    /// @notice What a provider declares when registering a source.
    struct SourceSpec {
        bytes32 schemaHash;
        bytes32 commitment;
        uint64 rowCount;
        string metadataURI;
        uint256 pricePerUse;
        uint256 allowedKinds;
        bool openToAllRequesters;
        uint256 autoConsentKinds;
    }

    /// @notice One version of a source's row commitment.
    struct Commitment {
        bytes32 root;
        uint64 rowCount;
    }

    Source[] private _sources;
    mapping(uint256 sourceId => Commitment[]) private _history;
    mapping(uint256 sourceId => mapping(address requester => bool)) private _allowedRequester;
    mapping(uint256 sourceId => mapping(address requester => bool)) private _autoRequester;

    /// @notice A provider registered a source (version 1).
    event DataSourceRegistered(
        uint256 indexed sourceId,
        address indexed owner,
        bytes32 schemaHash,
        bytes32 commitment,
        uint64 rowCount,
        string metadataURI,
        uint256 pricePerUse,
        uint256 allowedKinds,
        bool openToAllRequesters,
        uint256 autoConsentKinds
    );
    /// @notice The owner committed a new version of the rows.
    event CommitmentUpdated(uint256 indexed sourceId, uint64 version, bytes32 commitment, uint64 rowCount);
    /// @notice The owner changed price, kinds, metadata or consent policy.
    event SourceTermsUpdated(
        uint256 indexed sourceId,
        uint256 pricePerUse,
        uint256 allowedKinds,
        bool openToAllRequesters,
        uint256 autoConsentKinds,
        string metadataURI
    );
    /// @notice The owner allowed or disallowed a requester.
    event RequesterAccessSet(uint256 indexed sourceId, address indexed requester, bool allowed);
    /// @notice The owner listed or unlisted a requester for automatic consent.
    event AutoConsentSet(uint256 indexed sourceId, address indexed requester, bool enabled);
    /// @notice A rotated owner's successor took the source over.
    event SourceOwnerChanged(uint256 indexed sourceId, address indexed from, address indexed to);
    /// @notice The owner (or governance) retired the source.
    event DataSourceRetired(uint256 indexed sourceId, address indexed by);

    /// @notice No source has this id.
    error DataRegistryUnknownSource(uint256 sourceId);
    /// @notice The caller is not the member the owner's identity was rotated to.
    error DataRegistryNotSuccessor(uint256 sourceId, address caller);
    /// @notice The caller does not own the source.
    error DataRegistryNotOwner(uint256 sourceId, address caller);
    /// @notice The source is retired.
    error DataRegistryRetired(uint256 sourceId);
    /// @notice The commitment is zero, the row count is zero or the kinds are empty.
    error DataRegistryInvalidSpec();
    /// @notice No such version of the source.
    error DataRegistryUnknownVersion(uint256 sourceId, uint64 version);

    /// @param consortium_ The Consortium contract.
    constructor(address consortium_) Governed(consortium_) {}

    /// @notice Registers a source owned by the caller, who must hold the PROVIDER role.
    /// @param spec What the source is and on what terms it is used.
    /// @return sourceId The new source's id (index from 0).
    function registerSource(SourceSpec calldata spec) external returns (uint256 sourceId) {
        _requireRoles(msg.sender, PROVIDER);
        if (spec.commitment == bytes32(0) || spec.rowCount == 0 || spec.allowedKinds == 0) {
            revert DataRegistryInvalidSpec();
        }
        sourceId = _sources.length;
        _sources.push(
            Source({
                owner: msg.sender,
                active: true,
                openToAllRequesters: spec.openToAllRequesters,
                version: 1,
                rowCount: spec.rowCount,
                schemaHash: spec.schemaHash,
                commitment: spec.commitment,
                pricePerUse: spec.pricePerUse,
                allowedKinds: spec.allowedKinds,
                autoConsentKinds: spec.autoConsentKinds,
                metadataURI: spec.metadataURI
            })
        );
        _history[sourceId].push(Commitment(spec.commitment, spec.rowCount));
        emit DataSourceRegistered(
            sourceId,
            msg.sender,
            spec.schemaHash,
            spec.commitment,
            spec.rowCount,
            spec.metadataURI,
            spec.pricePerUse,
            spec.allowedKinds,
            spec.openToAllRequesters,
            spec.autoConsentKinds
        );
    }

    /// @notice Commits a new version of the rows; earlier versions stay readable.
    /// @param sourceId The source.
    /// @param commitment The salted Merkle root over the rows.
    /// @param rowCount The number of rows.
    /// @return version The new version number.
    function updateCommitment(uint256 sourceId, bytes32 commitment, uint64 rowCount)
        external
        returns (uint64 version)
    {
        Source storage s = _owned(sourceId);
        if (commitment == bytes32(0) || rowCount == 0) revert DataRegistryInvalidSpec();
        version = s.version + 1;
        s.version = version;
        s.commitment = commitment;
        s.rowCount = rowCount;
        _history[sourceId].push(Commitment(commitment, rowCount));
        emit CommitmentUpdated(sourceId, version, commitment, rowCount);
    }

    /// @notice Changes the source's price, allowed kinds, access, consent policy and metadata.
    /// @param sourceId The source.
    /// @param pricePerUse Token units credited per job.
    /// @param allowedKinds Bitmask of job kinds (bit k = kind k); not zero.
    /// @param openToAllRequesters Whether every REQUESTER member may use it.
    /// @param autoConsentKinds Kinds for which listed requesters get automatic consent.
    /// @param metadataURI Where the source's description lives.
    function setTerms(
        uint256 sourceId,
        uint256 pricePerUse,
        uint256 allowedKinds,
        bool openToAllRequesters,
        uint256 autoConsentKinds,
        string calldata metadataURI
    ) external {
        Source storage s = _owned(sourceId);
        if (allowedKinds == 0) revert DataRegistryInvalidSpec();
        s.pricePerUse = pricePerUse;
        s.allowedKinds = allowedKinds;
        s.openToAllRequesters = openToAllRequesters;
        s.autoConsentKinds = autoConsentKinds;
        s.metadataURI = metadataURI;
        emit SourceTermsUpdated(sourceId, pricePerUse, allowedKinds, openToAllRequesters, autoConsentKinds, metadataURI);
    }

    /// @notice Allows or disallows a requester (when the source is not open to all).
    /// @param sourceId The source.
    /// @param requester The requester.
    /// @param allowed Whether it may use the source.
    function setRequesterAccess(uint256 sourceId, address requester, bool allowed) external {
        _owned(sourceId);
        _allowedRequester[sourceId][requester] = allowed;
        emit RequesterAccessSet(sourceId, requester, allowed);
    }

    /// @notice Lists or unlists a requester whose jobs of `autoConsentKinds` consent automatically.
    /// @param sourceId The source.
    /// @param requester The requester.
    /// @param enabled Whether its jobs consent automatically.
    function setAutoConsent(uint256 sourceId, address requester, bool enabled) external {
        _owned(sourceId);
        _autoRequester[sourceId][requester] = enabled;
        emit AutoConsentSet(sourceId, requester, enabled);
    }

    /// @notice The successor of a rotated owner takes the source over (key rotation).
    /// @param sourceId A source whose owner was rotated to the caller.
    function claimSource(uint256 sourceId) external {
        Source storage s = _get(sourceId);
        if (_consortium.successorOf(s.owner) != msg.sender) revert DataRegistryNotSuccessor(sourceId, msg.sender);
        emit SourceOwnerChanged(sourceId, s.owner, msg.sender);
        s.owner = msg.sender;
    }

    /// @notice Retires the source: no new job may use it. Its owner or governance (e.g. for a
    /// removed member's source) may retire it.
    /// @param sourceId The source.
    function retireSource(uint256 sourceId) external {
        Source storage s;
        if (msg.sender == address(_consortium)) {
            s = _get(sourceId);
            if (!s.active) revert DataRegistryRetired(sourceId);
        } else {
            s = _owned(sourceId);
        }
        s.active = false;
        emit DataSourceRetired(sourceId, msg.sender);
    }

    /// @inheritdoc IDataRegistry
    function source(uint256 sourceId) external view returns (Source memory) {
        return _get(sourceId);
    }

    /// @notice How many sources were ever registered.
    function sourceCount() external view returns (uint256) {
        return _sources.length;
    }

    /// @notice A past or current version of the source's commitment.
    /// @param sourceId The source.
    /// @param version From 1 to the current version.
    function commitmentAt(uint256 sourceId, uint64 version) external view returns (Commitment memory) {
        _get(sourceId);
        Commitment[] storage history = _history[sourceId];
        if (version == 0 || version > history.length) revert DataRegistryUnknownVersion(sourceId, version);
        return history[version - 1];
    }

    /// @inheritdoc IDataRegistry
    function isUsableBy(uint256 sourceId, address requester, uint8 kind) external view returns (bool) {
        Source storage s = _get(sourceId);
        return s.active && (s.allowedKinds >> kind) & 1 == 1
            && (s.openToAllRequesters || _allowedRequester[sourceId][requester])
            && _consortium.hasRoles(s.owner, PROVIDER);
    }

    /// @inheritdoc IDataRegistry
    function autoConsents(uint256 sourceId, address requester, uint8 kind) external view returns (bool) {
        Source storage s = _get(sourceId);
        return _autoRequester[sourceId][requester] && (s.autoConsentKinds >> kind) & 1 == 1;
    }

    /// @notice Whether `requester` is on the source's access list.
    function isRequesterAllowed(uint256 sourceId, address requester) external view returns (bool) {
        return _allowedRequester[sourceId][requester];
    }

    /// @notice Whether `requester` is listed for automatic consent.
    function isAutoConsentRequester(uint256 sourceId, address requester) external view returns (bool) {
        return _autoRequester[sourceId][requester];
    }

    function _get(uint256 sourceId) private view returns (Source storage) {
        if (sourceId >= _sources.length) revert DataRegistryUnknownSource(sourceId);
        return _sources[sourceId];
    }

    function _owned(uint256 sourceId) private view returns (Source storage s) {
        s = _get(sourceId);
        if (s.owner != msg.sender) revert DataRegistryNotOwner(sourceId, msg.sender);
        if (!s.active) revert DataRegistryRetired(sourceId);
        _requireRoles(msg.sender, PROVIDER);
    }
}
