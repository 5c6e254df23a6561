# Sourced by the platform suites. skip_or_fail NAME MISSING: when MISSING is not empty, says what is
# missing and exits: a skip on a newcomer's machine, a failure under METAL_IO_STRICT=1 (CI).
skip_or_fail() {
  [ -z "$2" ] && return 0
  if [ "${METAL_IO_STRICT:-}" = 1 ]; then echo "FAIL $1: missing $2"; exit 1; fi
  echo "SKIP $1: missing $2"
  exit 0
}
