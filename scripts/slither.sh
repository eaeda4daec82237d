#!/usr/bin/env bash
# Static analysis of contracts/src with slither (PyPI slither-analyzer) through forge and the
# solc-js wrapper. Fails on any medium or high finding; prints low/informational ones too.
# slither pins web3<8 while the project pins web3 8, so it gets its own venv (outside the repo,
# since slither runs `forge clean`). The Solidity libraries must sit in contracts/node_modules:
# outside the project root slither silently resolves nothing and reports zero findings.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${SLITHER_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/custos/slither-venv}"
if [ ! -x "$venv/bin/slither" ]; then
  python3.11 -m venv "$venv" 2>/dev/null || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "slither-analyzer==0.11.6"
fi
cd "$repo/contracts"
export PATH="$repo/contracts/node_modules/.bin:$PATH"
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
status=0
"$venv/bin/slither" . --filter-paths "node_modules|test/" --exclude-optimization --fail-medium "$@" \
  2>&1 | tee "$report" || status=$?
# A clean report means nothing unless slither actually resolved our contracts and OpenZeppelin's.
analyzed="$(sed -n 's/.*analyzed (\([0-9]*\) contracts.*/\1/p' "$report" | tail -1)"
if [ "${analyzed:-0}" -lt 40 ]; then
  echo "slither analyzed ${analyzed:-no} contracts: it did not resolve the sources" >&2
  exit 1
fi
# The low/informational findings left on purpose (reviewed; each bounded or by design):
cat <<'LOWS'
Known low findings, by design:
  block-timestamp      deadlines, challenge/attestation/resolution windows and timelocks are times;
                       a validator's clock skew of seconds cannot matter against windows of >= 10 min.
  calls-inside-a-loop  openJob asks DataRegistry per source; bounded by MAX_SOURCES (32), own contract.
  costly-loop          Settlement credits per payee; bounded by 32 sources + 16 compute parties.
  reentrancy-benign/events  calls go only to the consortium's own token/registry/settlement, and
                       Settlement's token moves are nonReentrant; events after them are ordering-only.
LOWS
exit "$status"
