#!/usr/bin/env bash
# The examples' tests (examples.test.ts, echo_server.test.ts for the echo server, signals_process.test.ts
# for the blocking server) under seeded
# fault injection, METAL_IO_FAULTS=1..N (20 by default), then under the misuse detector in strict
# mode (METAL_IO_CHECK=strict): every example must pass each run. `npm run test:shake [-- N]`.
set -u
cd "$(dirname "$0")/../.." || exit 1
seeds=${1:-20}
files='^(examples|echo_server|signals_process)\.test\.ts$'
rc=0
for seed in $(seq 1 "$seeds"); do
  echo "== examples with METAL_IO_FAULTS=$seed"
  METAL_IO_FAULTS=$seed timeout 300 node --import tsx node_modules/uvu/bin.js test "$files" || rc=1
done
echo "== examples with METAL_IO_CHECK=strict"
METAL_IO_CHECK=strict timeout 300 node --import tsx node_modules/uvu/bin.js test "$files" || rc=1
exit $rc
