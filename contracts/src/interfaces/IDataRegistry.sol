// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title IDataRegistry
/// @notice Data sources as the job ledger sees them.
interface IDataRegistry {
    /// @notice A registered data source.
    struct Source {
        address owner;
        bool active;
        bool openToAllRequesters;
        uint64 version;
        uint64 rowCount;
        bytes32 schemaHash;
        bytes32 commitment;
        uint256 pricePerUse;
        uint256 allowedKinds;
        uint256 autoConsentKinds;
        string metadataURI;
    }

    /// @notice The source as it stands now.
    function source(uint256 sourceId) external view returns (Source memory);

    /// @notice Whether `requester` may use the source for a job of `kind`.
    function isUsableBy(uint256 sourceId, address requester, uint8 kind) external view returns (bool);

    /// @notice Whether the source's policy consents on its own to `requester`'s jobs of `kind`.
    function autoConsents(uint256 sourceId, address requester, uint8 kind) external view returns (bool);
}
