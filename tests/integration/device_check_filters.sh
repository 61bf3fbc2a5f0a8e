#!/usr/bin/env bash
# Every gtest filter pattern scripts/device-check.sh passes to the CUDA tests must match at
# least one test: a pattern that matches nothing would let compute-sanitizer "pass" on zero
# tests. Listing the tests needs no GPU.
#   device_check_filters.sh XBARMC_CUDA_TESTS DEVICE_CHECK_SH
set -euo pipefail
bin="$1"
script="$2"
filters=$(grep -o -- "--gtest_filter='[^']*'" "$script" | sed -e "s/^--gtest_filter='//" -e "s/'$//")
[ -n "$filters" ] || { echo "no --gtest_filter in $script"; exit 1; }
bad=0
checked=0
for filter in $filters; do
  IFS=':' read -r -a patterns <<<"$filter"
  for pattern in "${patterns[@]}"; do
    n=$("$bin" --gtest_list_tests --gtest_filter="$pattern" | grep -c '^  ' || true)
    checked=$((checked + 1))
    if [ "$n" -eq 0 ]; then
      echo "FAIL: pattern '$pattern' in $script matches no CUDA test"
      bad=1
    else
      echo "ok: '$pattern' matches $n test(s)"
    fi
  done
done
[ "$checked" -gt 0 ] || { echo "FAIL: no patterns checked"; exit 1; }
exit $bad
