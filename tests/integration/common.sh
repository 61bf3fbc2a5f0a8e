# Shared by the CLI integration scripts: a temporary directory and `expect`.
#   expect CODE PATTERN -- command...   runs the command, checks its exit code and that
#                                       stdout or stderr matches the extended regex PATTERN.
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

expect() {
  local code="$1" pattern="$2"
  shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ "$rc" -ne "$code" ]; then
    echo "FAIL: '$*' exited $rc, expected $code"; cat "$tmp/out" "$tmp/err"; fail=1; return
  fi
  if [ -n "$pattern" ] && ! grep -qE -- "$pattern" "$tmp/out" "$tmp/err"; then
    echo "FAIL: '$*' output lacks /$pattern/"; cat "$tmp/out" "$tmp/err"; fail=1; return
  fi
  echo "ok: $* -> $rc"
}

# same FILE1 FILE2 WHAT: the files are identical.
same() {
  if cmp -s "$1" "$2"; then echo "ok: $3"; else echo "FAIL: $3"; diff "$1" "$2" | head -20; fail=1; fi
}

# differ FILE1 FILE2 WHAT: the files differ.
differ() {
  if cmp -s "$1" "$2"; then echo "FAIL: $3"; fail=1; else echo "ok: $3"; fi
}
