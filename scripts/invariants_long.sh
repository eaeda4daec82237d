#!/usr/bin/env bash
# The long invariant campaign: 10,000 runs x depth 200 of contracts/test/Invariants.t.sol (the
# `long` profile of contracts/foundry.toml). Hours on a laptop; CI runs the ci profile instead
# (1,000 x 100) and the mutant check. Extra arguments go to forge (e.g. --fuzz-seed 0x1).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../contracts"
FOUNDRY_PROFILE=long exec tools/forge test --match-path test/Invariants.t.sol "$@"
