// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Test} from "./lib/Test.sol";
import {Beacon} from "../src/Beacon.sol";

contract BeaconTest is Test {
    Beacon private beacon;

    function setUp() public {
        beacon = new Beacon();
    }

    function test_PingAddsStep() public {
        assertEq(beacon.ping(3), 3, "first ping");
        assertEq(beacon.ping(4), 7, "second ping");
        assertEq(beacon.count(), 7, "count");
    }

    function test_RevertWhen_StepIsZero() public {
        vm.expectRevert(Beacon.BeaconZeroStep.selector);
        beacon.ping(0);
    }

    function testFuzz_PingsSum(uint128 a, uint128 b) public {
        vm.assume(a > 0 && b > 0);
        beacon.ping(a);
        beacon.ping(b);
        assertEq(beacon.count(), uint256(a) + uint256(b), "sum of pings");
    }
}
