// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {AuditAnchor} from "../../src/AuditAnchor.sol";
import {Consortium} from "../../src/Consortium.sol";
import {DataRegistry} from "../../src/DataRegistry.sol";
import {JobLedger} from "../../src/JobLedger.sol";
import {Settlement} from "../../src/Settlement.sol";
import {Governed} from "../../src/base/Governed.sol";
import {JobLiveness} from "../../src/base/JobLiveness.sol";
import {JobWindows} from "../../src/base/JobWindows.sol";
import {Membership} from "../../src/base/Membership.sol";
import {HandlerBase} from "./HandlerBase.sol";

/// @notice What disturbs the jobs from outside their lifecycle: governance changing the fee,
/// windows, roles and membership mid-run, members sending tokens straight to Settlement and
/// governance sweeping them, and outsiders or ex-members trying state-changing calls.
abstract contract DisruptionHandler is HandlerBase {
    // ---- governance changes terms, roles and membership mid-run ----

    /// @dev Raw values, often outside the documented ranges: the contracts must refuse those.
    /// (`window`, `second`) pick fee, challenge, attestation or resolution window evenly.
    function changeSetting(uint64 raw, bool window, bool second) external {
        if (!window && !second) _govern(address(settlement), abi.encodeCall(Settlement.setFeeBps, (uint16(raw % 4_000))));
        else if (!window) _govern(address(ledger), abi.encodeCall(JobWindows.setChallengeWindow, (raw % 40 days)));
        else if (!second) _govern(address(ledger), abi.encodeCall(JobWindows.setAttestationWindow, (raw % 10 days)));
        else _govern(address(ledger), abi.encodeCall(JobWindows.setResolutionWindow, (raw % 20 days)));
    }

    /// @dev Removes or re-admits provider1 (owner of two sources) or compute2 (a compute party).
    function toggleMember(bool compute) external {
        uint256 index = compute ? 4 : 1;
        address account = members[index];
        if (consortium.isMember(account)) {
            _govern(address(consortium), abi.encodeCall(Consortium.removeMember, (account)));
        } else {
            _govern(address(consortium), abi.encodeCall(Consortium.addMember, (account, founderRoles[index], "back")));
        }
    }

    /// @dev Strips or restores compute1's COMPUTE or provider2's PROVIDER.
    function toggleRole(bool compute) external {
        uint256 index = compute ? 3 : 2;
        address account = members[index];
        uint8 full = founderRoles[index];
        uint8 stripped = compute ? AUDITOR : REQUESTER;
        uint8 next = consortium.member(account).roles == full ? stripped : full;
        _govern(address(consortium), abi.encodeCall(Consortium.setRoles, (account, next)));
    }

    /// @dev A member sends tokens straight to Settlement (by mistake).
    function strayTransfer(uint256 amount, uint256 callerSeed) external {
        amount = amount % 1_000;
        vm.prank(members[callerSeed % members.length]);
        token.transfer(address(settlement), amount);
        ghostStray += amount;
    }

    /// @dev Governance sweeps some of the stray tokens back to a member.
    function sweep(uint256 amount) external {
        amount = amount % (ghostStray + 2);
        _govern(address(settlement), abi.encodeCall(Settlement.sweep, (IERC20(address(token)), members[0], amount)));
        // A sweep larger than the stray part took escrow or credits: conservation then fails.
        ghostStray = amount > ghostStray ? 0 : ghostStray - amount;
    }

    // ---- outsiders and ex-members ----

    /// @dev An outsider, or a founder removed right now (still owning sources, holding credits and
    /// job roles), tries one state-changing call; any success breaks the rules.
    function outsiderActs(uint256 who, uint8 action, uint256 jobSeed) external {
        address actor = _outsider(who);
        uint256 jobId = jobSeed % (ledger.jobCount() + 1);
        bytes memory sig = new bytes(65);
        uint256[] memory one = new uint256[](1);
        address target = address(ledger);
        bytes memory data;
        action = action % 13;
        if (action == 0) data = abi.encodeCall(JobLedger.consent, (jobId, _firstSource(jobId)));
        else if (action == 1) data = abi.encodeCall(JobLedger.commitResult, (jobId, 0, 0, one, 0));
        else if (action == 2) data = abi.encodeCall(JobLedger.attest, (jobId, members[1], sig));
        else if (action == 3) data = abi.encodeCall(JobLedger.finalize, (jobId));
        else if (action == 4) data = abi.encodeCall(JobLiveness.dispute, (jobId, 0));
        else if (action == 5) data = abi.encodeCall(JobLiveness.cancel, (jobId));
        else if (action == 6) data = abi.encodeCall(JobLiveness.abort, (jobId, 0));
        else if (action == 7) data = abi.encodeCall(JobLiveness.escalate, (jobId));
        else if (action == 8) (target, data) = (address(settlement), abi.encodeCall(Settlement.withdraw, ()));
        else if (action == 9) (target, data) = (address(anchorContract), abi.encodeCall(AuditAnchor.anchor, (keccak256("x"), 1, 0)));
        else if (action == 12) {
            (target, data) = (address(anchorContract), abi.encodeCall(AuditAnchor.anchorJobRecords, (jobId, keccak256("x"), 1)));
        }
        else if (action == 10) {
            (target, data) = (address(registry), abi.encodeCall(DataRegistry.updateCommitment, (sources[0], keccak256("v"), 1)));
        } else {
            (target, data) = (address(consortium), abi.encodeCall(Consortium.propose, (address(consortium), "", "")));
        }
        vm.prank(actor);
        (bool success, bytes memory err) = target.call(data);
        // Refused, and refused at the door (the membership or role check), not by luck deeper down.
        if (success || !_stoppedAtTheDoor(err)) ++ghostOutsiderSuccesses;
    }

    function _stoppedAtTheDoor(bytes memory err) private pure returns (bool) {
        if (err.length < 4) return false;
        bytes4 selector = bytes4(err);
        return selector == Governed.GovernedUnauthorizedMember.selector
            || selector == Membership.ConsortiumNotMember.selector
            || selector == DataRegistry.DataRegistryNotOwner.selector;
    }

    function _outsider(uint256 who) private view returns (address) {
        // Removed founders first: they are the interesting adversaries when they exist.
        if (who % 2 == 0 && !consortium.isMember(members[1])) return members[1];
        if (who % 2 == 0 && !consortium.isMember(members[4])) return members[4];
        return outsiders[who % outsiders.length];
    }

    function _firstSource(uint256 jobId) private view returns (uint256) {
        if (jobId >= ledger.jobCount()) return sources[0];
        (uint256[] memory ids,,,) = ledger.jobSources(jobId);
        return ids[0];
    }
}
