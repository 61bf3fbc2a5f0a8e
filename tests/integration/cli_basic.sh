#!/usr/bin/env bash
# The CLI end to end: version, info, help, exit codes of usage errors.
# Usage: cli_basic.sh PATH/TO/xbarmc
set -u
X="$1"
source "$(dirname "$0")/common.sh"

expect 0 '^xbarmc [0-9]+\.[0-9]+\.[0-9]+ \(commit ([0-9a-f]{7,}|unknown)' -- "$X" --version
expect 0 'GPUs seen' -- "$X" info
expect 0 '"cuda_compiled"' -- "$X" info --json
expect 0 'Usage: xbarmc run' -- "$X" run --help
expect 0 'Commands:' -- "$X" --help
expect 2 "unknown option '--no-such-flag'" -- "$X" run --no-such-flag
expect 2 "unknown command 'frobnicate'" -- "$X" frobnicate
expect 2 'Commands:' -- "$X"
printf 'trials = 10\nno_such_key = 3\n' >"$tmp/bad.ini"
expect 2 "unknown key 'no_such_key'" -- "$X" run --config "$tmp/bad.ini"
printf 'trials = 0\n' >"$tmp/bad2.ini"
expect 2 'trials: must be between 1 and' -- "$X" run --config "$tmp/bad2.ini"
expect 1 'cannot open the config file' -- "$X" run --config "$tmp/missing.ini"
expect 2 "backend: 'tpu' is not allowed" -- "$X" run --backend tpu
exit $fail
