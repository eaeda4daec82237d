// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

/// @title AttestationVerifier
/// @notice The EIP-712 attestation of docs/protocol.md: domain ("Custos JobLedger", "1",
/// chainId, this contract) and `Attestation(jobId, inputsHash, resultHash, transcriptRoot,
/// contributionHash, privacyHash)`; `privacyHash` is zero for an exact job and
/// keccak256(abi.encode(uint64[] epsilonsSpent, uint64 delta)) for a DP job.
/// @dev OpenZeppelin's ECDSA rejects high-s and non-65-byte signatures; the domain binds the
/// chain id and this contract's address, so signatures for another chain or ledger fail.
abstract contract AttestationVerifier is EIP712 {
    /// @notice keccak256 of the Attestation type string.
    bytes32 public constant ATTESTATION_TYPEHASH = keccak256(
        "Attestation(uint256 jobId,bytes32 inputsHash,bytes32 resultHash,bytes32 transcriptRoot,bytes32 contributionHash,bytes32 privacyHash)"
    );

    /// @notice The signature recovers to another address than the claimed signer.
    /// @param expected The claimed signer.
    /// @param recovered Who actually signed.
    error JobLedgerWrongSigner(address expected, address recovered);

    constructor() EIP712("Custos JobLedger", "1") {}

    /// @notice The EIP-712 domain separator of this ledger on this chain.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    function _attestationDigest(
        uint256 jobId,
        bytes32 inputsHash,
        bytes32 resultHash,
        bytes32 transcriptRoot,
        bytes32 contributionHash,
        bytes32 privacyHash
    ) internal view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    ATTESTATION_TYPEHASH, jobId, inputsHash, resultHash, transcriptRoot, contributionHash, privacyHash
                )
            )
        );
    }

    function _verify(bytes32 digest, address signer, bytes calldata signature) internal pure {
        address recovered = ECDSA.recoverCalldata(digest, signature);
        if (recovered != signer) revert JobLedgerWrongSigner(signer, recovered);
    }
}
