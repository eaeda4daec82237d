// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {CustosFixture} from "./fixtures/CustosFixture.sol";
import {InvariantTest} from "./lib/InvariantTest.sol";
import {JobHandler} from "./handlers/JobHandler.sol";
import {Consortium} from "../src/Consortium.sol";
import {JobTypes} from "../src/base/JobTypes.sol";

/// @notice Escrow conservation, single settlement, members-only state changes, credits to
/// participants only — over random sequences of the handler's actions.
contract InvariantsTest is CustosFixture, InvariantTest {
    JobHandler private handler;

    function setUp() public override {
        super.setUp();
        address former = address(0xF0F0);
        _govern(address(consortium), abi.encodeCall(Consortium.addMember, (former, COMPUTE, "Former")));
        _govern(address(consortium), abi.encodeCall(Consortium.removeMember, (former)));
        uint256[3] memory ids = [_register(provider1, 10), _register(provider1, 0), _register(provider2, 25)];
        address[3] memory owners = [provider1, provider1, provider2];
        address[] memory outsiders = new address[](2);
        (outsiders[0], outsiders[1]) = (outsider, former);
        uint256[] memory keys = new uint256[](6);
        (keys[0], keys[1], keys[2]) = (REQUESTER_KEY, PROVIDER1_KEY, PROVIDER2_KEY);
        (keys[3], keys[4], keys[5]) = (COMPUTE1_KEY, COMPUTE2_KEY, AUDITOR_KEY);
        handler = new JobHandler(
            consortium, token, settlement, ledger, anchorContract, _members(), keys, outsiders, ids, owners
        );
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](13);
        selectors[0] = JobHandler.openJob.selector;
        selectors[1] = JobHandler.consent.selector;
        selectors[2] = JobHandler.commit.selector;
        selectors[3] = JobHandler.attest.selector;
        selectors[4] = JobHandler.warp.selector;
        selectors[5] = JobHandler.finalize.selector;
        selectors[6] = JobHandler.dispute.selector;
        selectors[7] = JobHandler.resolve.selector;
        selectors[8] = JobHandler.cancel.selector;
        selectors[9] = JobHandler.abort.selector;
        selectors[10] = JobHandler.withdraw.selector;
        selectors[11] = JobHandler.outsiderActs.selector;
        selectors[12] = JobHandler.progress.selector;
        targetSelector(FuzzSelector(address(handler), selectors));
    }

    /// @dev Recomputed entry by entry, not only from Settlement's running totals.
    function invariant_TokenHeldEqualsEscrowsPlusCredits() public view {
        uint256 escrows = 0;
        for (uint256 j = 0; j < ledger.jobCount(); ++j) {
            escrows += settlement.escrowOf(j);
        }
        uint256 credits = 0;
        for (uint256 i = 0; i < handler.memberCount(); ++i) {
            credits += settlement.creditOf(handler.members(i));
        }
        for (uint256 i = 0; i < handler.outsiderCount(); ++i) {
            credits += settlement.creditOf(handler.outsiders(i));
        }
        uint256 held = token.balanceOf(address(settlement));
        assertEq(held, escrows + credits, "token held == open escrows + unwithdrawn credits");
        assertEq(held, settlement.totalEscrowed() + settlement.totalCredits(), "running totals agree");
    }

    function invariant_NoJobFinalisedOrPaidTwice() public view {
        assertTrue(handler.ghostMaxSettlements() <= 1, "a job's escrow settled more than once");
        assertEq(handler.ghostOverCredited(), 0, "a job credited more than its budget");
        for (uint256 j = 0; j < ledger.jobCount(); ++j) {
            JobTypes.Status status = ledger.job(j).status;
            bool settled = uint8(status) >= uint8(JobTypes.Status.Finalized);
            assertEq(handler.ghostSettlements(j), settled ? 1 : 0, "settled exactly when terminal");
            assertEq(handler.ghostCredited(j), settled ? ledger.job(j).budget : 0, "credited exactly the budget");
            assertEq(settlement.escrowOf(j), settled ? 0 : ledger.job(j).budget, "escrow open until settled");
        }
    }

    function invariant_OnlyMembersChangeState() public view {
        assertEq(handler.ghostOutsiderSuccesses(), 0, "an outsider's call changed state");
    }

    function invariant_CreditsGoToParticipantsOfTheirJob() public view {
        assertEq(handler.ghostNonParticipantCredits(), 0, "a credit went to a non-participant");
    }
}
