// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {CustosFixture} from "./fixtures/CustosFixture.sol";
import {DataRegistry} from "../src/DataRegistry.sol";
import {IDataRegistry} from "../src/interfaces/IDataRegistry.sol";
import {Governed} from "../src/base/Governed.sol";
import {Consortium} from "../src/Consortium.sol";

contract DataRegistryTest is CustosFixture {
    function test_RegisterRecordsSourceAndFirstVersion() public {
        uint256 id = _register(provider1, 10);
        IDataRegistry.Source memory s = registry.source(id);
        assertEq(s.owner, provider1, "owner");
        assertEq(uint256(s.version), 1, "version");
        assertEq(s.commitment, keccak256("rows-v1"), "commitment");
        assertEq(registry.commitmentAt(id, 1).root, keccak256("rows-v1"), "history");
        assertEq(registry.sourceCount(), 1, "count");
    }

    function test_UpdateCommitmentKeepsHistory() public {
        uint256 id = _register(provider1, 10);
        vm.prank(provider1);
        uint64 version = registry.updateCommitment(id, keccak256("rows-v2"), 2000);
        assertEq(uint256(version), 2, "new version");
        assertEq(registry.commitmentAt(id, 1).root, keccak256("rows-v1"), "v1 kept");
        assertEq(registry.commitmentAt(id, 2).root, keccak256("rows-v2"), "v2");
        assertEq(uint256(registry.source(id).rowCount), 2000, "rows");
    }

    function test_SetTermsAccessAndAutoConsent() public {
        uint256 id = _register(provider1, 10);
        vm.startPrank(provider1);
        registry.setTerms(id, 5, 1 << PSI, false, 1 << PSI, "ipfs://v2");
        assertFalse(registry.isUsableBy(id, requester, PSI), "closed to unlisted requester");
        registry.setRequesterAccess(id, requester, true);
        assertTrue(registry.isRequesterAllowed(id, requester), "listed");
        assertTrue(registry.isUsableBy(id, requester, PSI), "usable after listing");
        assertFalse(registry.isUsableBy(id, requester, FEDAVG), "kind not allowed");
        assertFalse(registry.autoConsents(id, requester, PSI), "not auto yet");
        registry.setAutoConsent(id, requester, true);
        assertTrue(registry.isAutoConsentRequester(id, requester), "auto listed");
        assertTrue(registry.autoConsents(id, requester, PSI), "auto for PSI");
        assertFalse(registry.autoConsents(id, requester, FEDAVG), "not auto for FEDAVG");
        vm.stopPrank();
        assertEq(registry.source(id).pricePerUse, 5, "price");
    }

    function test_RetireMakesSourceUnusable() public {
        uint256 id = _register(provider1, 10);
        vm.prank(provider1);
        registry.retireSource(id);
        assertFalse(registry.source(id).active, "inactive");
        assertFalse(registry.isUsableBy(id, requester, FEDAVG), "unusable");
    }

    function test_RevertWhen_RegistrantLacksProviderRole() public {
        vm.prank(compute1);
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernedUnauthorizedMember.selector, compute1, PROVIDER));
        registry.registerSource(_spec(1, 0));
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernedUnauthorizedMember.selector, outsider, PROVIDER));
        registry.registerSource(_spec(1, 0));
    }

    function test_RevertWhen_SpecInvalid() public {
        DataRegistry.SourceSpec memory spec = _spec(1, 0);
        spec.commitment = bytes32(0);
        vm.prank(provider1);
        vm.expectRevert(DataRegistry.DataRegistryInvalidSpec.selector);
        registry.registerSource(spec);
        spec = _spec(1, 0);
        spec.rowCount = 0;
        vm.prank(provider1);
        vm.expectRevert(DataRegistry.DataRegistryInvalidSpec.selector);
        registry.registerSource(spec);
        spec = _spec(1, 0);
        spec.allowedKinds = 0;
        vm.prank(provider1);
        vm.expectRevert(DataRegistry.DataRegistryInvalidSpec.selector);
        registry.registerSource(spec);
    }

    function test_RevertWhen_UpdateOrTermsInvalid() public {
        uint256 id = _register(provider1, 10);
        vm.startPrank(provider1);
        vm.expectRevert(DataRegistry.DataRegistryInvalidSpec.selector);
        registry.updateCommitment(id, bytes32(0), 1);
        vm.expectRevert(DataRegistry.DataRegistryInvalidSpec.selector);
        registry.updateCommitment(id, bytes32(uint256(1)), 0);
        vm.expectRevert(DataRegistry.DataRegistryInvalidSpec.selector);
        registry.setTerms(id, 1, 0, true, 0, "");
        vm.stopPrank();
    }

    function test_RevertWhen_NonOwnerChangesSource() public {
        uint256 id = _register(provider1, 10);
        bytes memory err = abi.encodeWithSelector(DataRegistry.DataRegistryNotOwner.selector, id, provider2);
        vm.startPrank(provider2);
        vm.expectRevert(err);
        registry.updateCommitment(id, bytes32(uint256(1)), 1);
        vm.expectRevert(err);
        registry.setTerms(id, 1, 1, true, 0, "");
        vm.expectRevert(err);
        registry.setRequesterAccess(id, requester, true);
        vm.expectRevert(err);
        registry.setAutoConsent(id, requester, true);
        vm.expectRevert(err);
        registry.retireSource(id);
        vm.stopPrank();
    }

    function test_RevertWhen_RetiredSourceChanges() public {
        uint256 id = _register(provider1, 10);
        vm.startPrank(provider1);
        registry.retireSource(id);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DataRegistryRetired.selector, id));
        registry.updateCommitment(id, bytes32(uint256(1)), 1);
        vm.stopPrank();
    }

    function test_RevertWhen_RemovedOwnerChangesSource() public {
        uint256 id = _register(provider1, 10);
        _govern(address(consortium), abi.encodeCall(Consortium.removeMember, (provider1)));
        vm.prank(provider1);
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernedUnauthorizedMember.selector, provider1, PROVIDER));
        registry.retireSource(id);
    }

    function test_RevertWhen_SourceOrVersionUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DataRegistryUnknownSource.selector, 3));
        registry.source(3);
        uint256 id = _register(provider1, 10);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DataRegistryUnknownVersion.selector, id, 0));
        registry.commitmentAt(id, 0);
        vm.expectRevert(abi.encodeWithSelector(DataRegistry.DataRegistryUnknownVersion.selector, id, 2));
        registry.commitmentAt(id, 2);
    }

    function test_RevertWhen_ConstructedWithoutConsortium() public {
        vm.expectRevert(Governed.GovernedZeroAddress.selector);
        new DataRegistry(address(0));
    }
}
