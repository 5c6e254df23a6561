#!/usr/bin/env bash
# Runs the event-queue and net suites on the kqueue backend, on Linux, through libkqueue (a
# userspace kqueue). libkqueue has no Debian or npm package: build it yourself in a scratch folder
# outside this project (its source: the public repository mheily/libkqueue; cmake and make) and
# point METAL_IO_LIBKQUEUE at the library. CI does not run this suite.
set -uo pipefail
cd "$(dirname "$0")/../.."
lib=${METAL_IO_LIBKQUEUE:-}
if [ -z "$lib" ] || [ ! -f "$lib" ]; then
  echo "SKIP kqueue suite (linux-libkqueue-x64): METAL_IO_LIBKQUEUE is unset or not a file; build libkqueue and set it to libkqueue.so.0"
  exit 0
fi
export METAL_IO_BACKEND=kqueue METAL_IO_LIBKQUEUE="$lib"
exec node --import tsx node_modules/uvu/bin.js test '^(?!(codegen|layouts|package|wine_echo)\.)[\w-]+\.test\.ts$'
