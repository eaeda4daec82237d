// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {CustosFixture} from "./fixtures/CustosFixture.sol";
import {Consortium} from "../src/Consortium.sol";
import {CustosToken} from "../src/CustosToken.sol";
import {Settlement} from "../src/Settlement.sol";
import {JobWindows} from "../src/base/JobWindows.sol";
import {JobRecords} from "../src/base/JobRecords.sol";
import {JobTypes} from "../src/base/JobTypes.sol";

/// @notice Regression tests of the contracts review, F2, F3, F8: terms fixed at opening, every
/// governance setting bounded, a price cap on opening. Each is named after what it proves
/// (scripts/findings_old_vs_new.py proves the findings on the old contracts). The fixture's job:
/// provider1 at 10, provider2 at 20, budget 1000, compute1 and compute2, weights 3:1, fee 10%,
/// challenge window 1 day.
contract FindingsTermsTest is CustosFixture {
    uint256 private constant BUDGET = 1000 ether;

    // ---- F2: terms are fixed at opening ----

    function test_F2_FeeRaisedAfterOpeningDoesNotChangeThePayout() public {
        uint256 jobId = _committedJob();
        _govern(address(settlement), abi.encodeCall(Settlement.setFeeBps, (3000)));
        _attestAll(jobId);
        vm.warp(block.timestamp + WINDOW);
        vm.prank(auditor);
        ledger.finalize(jobId);
        uint256 rest = 970 ether - 97 ether; // 10% of the pool, the fee the job opened with
        assertEq(settlement.creditOf(provider1), 10 ether + rest * 3 / 4, "provider1 paid at the opening fee");
        assertEq(settlement.creditOf(provider2), 20 ether + rest / 4, "provider2 paid at the opening fee");
        assertEq(settlement.creditOf(compute2), 48.5 ether, "compute share at the opening fee");
    }

    function test_F2_WindowShrunkMidWindowDoesNotBlockAPendingDispute() public {
        uint256 jobId = _committedJob();
        _govern(address(ledger), abi.encodeCall(JobWindows.setChallengeWindow, (10 minutes)));
        vm.warp(block.timestamp + 1 hours);
        vm.prank(provider1);
        ledger.dispute(jobId, keccak256("evidence"));
        assertEq(uint256(_status(jobId)), uint256(JobTypes.Status.Disputed), "the job's own window still open");
    }

    function test_F2_JobOpenedRecordsTheTermsAndJobTermsReturnsThem() public {
        _govern(address(ledger), abi.encodeCall(JobWindows.setAttestationWindow, (2 hours)));
        _govern(address(ledger), abi.encodeCall(JobWindows.setResolutionWindow, (3 days)));
        uint256[] memory ids = _ids(_register(provider1, 1), _register(provider2, 2));
        address[] memory parties = new address[](2);
        (parties[0], parties[1]) = (compute1, compute2);
        vm.startPrank(requester);
        token.approve(address(settlement), 10);
        vm.recordLogs();
        uint256 jobId = ledger.openJob(FEDAVG, ids, 0, parties, 10, 3, uint64(block.timestamp + 1 days));
        vm.stopPrank();
        (JobTypes.Terms memory terms,) = ledger.jobTerms(jobId);
        assertEq(terms.feeBps, FEE_BPS, "fee");
        assertEq(terms.challengeWindow, WINDOW, "challenge window");
        assertEq(terms.attestationWindow, 2 hours, "attestation window");
        assertEq(terms.resolutionWindow, 3 days, "resolution window");
        bytes32 topic = keccak256(
            "JobOpened(uint256,address,uint8,uint256[],uint64[],bytes32,bytes32,address[],uint256,uint64,uint16,uint64,uint64,uint64)"
        );
        assertEq(vm.getRecordedLogs()[0].topics[0], topic, "JobOpened carries the terms");
    }

    // ---- F3: every governance setting is bounded ----

    function test_F3_HugeProposalTtlIsRefusedSoGovernanceCannotBeBricked() public {
        vm.prank(requester);
        uint256 id =
            consortium.propose(address(consortium), abi.encodeCall(Consortium.setProposalTtl, (type(uint64).max)), "");
        vm.prank(provider1);
        consortium.approve(id);
        vm.prank(provider2);
        consortium.approve(id);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ConsortiumInvalidTtl.selector, type(uint64).max));
        consortium.execute(id);
        vm.prank(requester);
        consortium.propose(address(consortium), abi.encodeCall(Consortium.setThreshold, (2)), "still works");
    }

    function test_F3_SettingsOutsideTheirRangesAreRefused() public {
        vm.startPrank(address(consortium));
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerWindowOutOfRange.selector, 599, 600, 30 days));
        ledger.setChallengeWindow(599);
        vm.expectRevert(
            abi.encodeWithSelector(JobRecords.JobLedgerWindowOutOfRange.selector, 30 days + 1, 600, 30 days)
        );
        ledger.setChallengeWindow(30 days + 1);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerWindowOutOfRange.selector, 59 minutes, 1 hours, 7 days));
        ledger.setAttestationWindow(59 minutes);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerWindowOutOfRange.selector, 15 days, 1 days, 14 days));
        ledger.setResolutionWindow(15 days);
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementInvalidFee.selector, 3001));
        settlement.setFeeBps(3001);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ConsortiumInvalidTtl.selector, 59 minutes));
        consortium.setProposalTtl(59 minutes);
        vm.expectRevert(abi.encodeWithSelector(Consortium.ConsortiumInvalidDelay.selector, 14 days + 1));
        consortium.setDelay(CustosToken.mint.selector, 14 days + 1);
        vm.stopPrank();
    }

    // ---- F8: a price raised in front of openJob makes it revert ----

    function test_F8_PriceRaisedInFrontOfOpenJobMakesItRevert() public {
        uint256 a = _register(provider1, 10 ether);
        uint256 b = _register(provider2, 20 ether);
        vm.prank(provider1);
        registry.setTerms(a, 980 ether, (1 << PSI) | (1 << FEDAVG), true, 0, "ipfs://source");
        vm.startPrank(requester);
        token.approve(address(settlement), BUDGET);
        vm.expectRevert(abi.encodeWithSelector(JobRecords.JobLedgerPriceAboveMax.selector, 1000 ether, 30 ether));
        ledger.openJob(FEDAVG, _ids(a, b), 0, _computeParties(), BUDGET, 30 ether, uint64(block.timestamp + 1 days));
        vm.stopPrank();
    }
}
