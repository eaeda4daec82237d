// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {CustosFixture} from "./fixtures/CustosFixture.sol";
import {JobRecords} from "../src/base/JobRecords.sol";
import {JobTypes} from "../src/base/JobTypes.sol";
import {AttestationVerifier} from "../src/base/AttestationVerifier.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @notice The EIP-712 attestation: exact digest, and every forged or replayed form rejected.
contract AttestationTest is CustosFixture {
    uint256 private constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    uint256 private jobId;

    function setUp() public override {
        super.setUp();
        jobId = _committedJob();
    }

    function _digestFor(uint256 chainId, address verifyingContract, uint256 id) private view returns (bytes32) {
        JobTypes.Job memory job = ledger.job(id);
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Custos JobLedger"),
                keccak256("1"),
                chainId,
                verifyingContract
            )
        );
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    "Attestation(uint256 jobId,bytes32 inputsHash,bytes32 resultHash,bytes32 transcriptRoot,bytes32 contributionHash,bytes32 privacyHash)"
                ),
                id,
                job.inputsHash,
                job.resultHash,
                job.transcriptRoot,
                job.contributionHash,
                bytes32(0) // an exact job: no DP spend
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
    }

    function test_DigestFollowsProtocolDomainAndType() public view {
        assertEq(ledger.attestationDigest(jobId), _digestFor(block.chainid, address(ledger), jobId), "digest");
    }

    function test_AttestRecordsValidSignature() public {
        bytes memory sig = _sign(PROVIDER1_KEY, ledger.attestationDigest(jobId));
        vm.prank(requester);
        ledger.attest(jobId, provider1, sig);
        assertTrue(ledger.hasAttested(jobId, provider1), "recorded");
        assertEq(uint256(ledger.job(jobId).attestations), 1, "count");
    }

    function test_RevertWhen_SignatureIsHighS() public {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(PROVIDER1_KEY, ledger.attestationDigest(jobId));
        bytes32 highS = bytes32(SECP256K1_N - uint256(s));
        bytes memory malleated = abi.encodePacked(r, highS, v == 27 ? uint8(28) : uint8(27));
        assertEq(ecrecover(ledger.attestationDigest(jobId), v == 27 ? 28 : 27, r, highS), provider1, "same signer");
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(ECDSA.ECDSAInvalidSignatureS.selector, highS));
        ledger.attest(jobId, provider1, malleated);
    }

    function test_RevertWhen_SignatureIsCompact64Bytes() public {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(PROVIDER1_KEY, ledger.attestationDigest(jobId));
        bytes32 vs = bytes32(uint256(s) | (uint256(v - 27) << 255));
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(ECDSA.ECDSAInvalidSignatureLength.selector, 64));
        ledger.attest(jobId, provider1, abi.encodePacked(r, vs));
    }

    function _expectWrongSigner(bytes32 signedDigest) private {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(PROVIDER1_KEY, signedDigest);
        address recovered = ecrecover(ledger.attestationDigest(jobId), v, r, s);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.JobLedgerWrongSigner.selector, provider1, recovered));
        ledger.attest(jobId, provider1, abi.encodePacked(r, s, v));
    }

    function test_RevertWhen_SignedForAnotherChain() public {
        _expectWrongSigner(_digestFor(block.chainid + 1, address(ledger), jobId));
    }

    function test_RevertWhen_SignedForAnotherContract() public {
        _expectWrongSigner(_digestFor(block.chainid, address(settlement), jobId));
    }

    function test_RevertWhen_ChainIdChangesAfterSigning() public {
        bytes memory sig = _sign(PROVIDER1_KEY, ledger.attestationDigest(jobId));
        vm.chainId(block.chainid + 7);
        address recovered = ECDSA.recover(ledger.attestationDigest(jobId), sig);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.JobLedgerWrongSigner.selector, provider1, recovered));
        ledger.attest(jobId, provider1, sig);
    }

    function test_RevertWhen_SignedByAnotherKey() public {
        bytes memory sig = _sign(OUTSIDER_KEY, ledger.attestationDigest(jobId));
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.JobLedgerWrongSigner.selector, provider1, outsider));
        ledger.attest(jobId, provider1, sig);
    }

    function test_RevertWhen_SignerAttestsTwice() public {
        bytes32 digest = ledger.attestationDigest(jobId);
        bytes memory sig = _sign(PROVIDER1_KEY, digest);
        vm.startPrank(requester);
        ledger.attest(jobId, provider1, sig);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerAlreadyAttested.selector, jobId, provider1));
        ledger.attest(jobId, provider1, sig);
        // A malleated copy of the used signature is caught by signer, before any byte comparison.
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(PROVIDER1_KEY, digest);
        bytes memory malleated = abi.encodePacked(r, bytes32(SECP256K1_N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerAlreadyAttested.selector, jobId, provider1));
        ledger.attest(jobId, provider1, malleated);
        vm.stopPrank();
    }

    function test_RevertWhen_AttestationReplayedOnAnotherJob() public {
        bytes memory sig = _sign(PROVIDER1_KEY, ledger.attestationDigest(jobId));
        uint256[] memory ids = new uint256[](2);
        (ids[0], ids[1]) = (0, 1);
        uint256 other = _open(ids, 100 ether);
        vm.prank(provider1);
        ledger.consent(other, 0);
        vm.prank(provider2);
        ledger.consent(other, 1);
        vm.prank(compute1);
        ledger.commitResult(other, keccak256("result"), keccak256("transcript"), _weights(3, 1), keccak256("utility"));
        address recovered = ECDSA.recover(ledger.attestationDigest(other), sig);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.JobLedgerWrongSigner.selector, provider1, recovered));
        ledger.attest(other, provider1, sig);
    }

    function test_DomainSeparatorMatchesEip712Domain() public view {
        (, string memory name, string memory version, uint256 chainId, address verifying,,) = ledger.eip712Domain();
        assertEq(keccak256(bytes(name)), keccak256("Custos JobLedger"), "name");
        assertEq(keccak256(bytes(version)), keccak256("1"), "version");
        assertEq(chainId, block.chainid, "chain");
        assertEq(verifying, address(ledger), "contract");
        assertTrue(ledger.domainSeparator() != bytes32(0), "separator");
        assertTrue(ledger.ATTESTATION_TYPEHASH() != bytes32(0), "typehash");
    }
}
