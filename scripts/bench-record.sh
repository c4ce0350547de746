#!/usr/bin/env bash
# make bench: every benchmark in one run, written to BENCHMARKS.md (crates/bench).
#   scripts/bench-record.sh          all seven
#   scripts/bench-record.sh 5,6      only those; their sections replace the old ones
# Benchmarks 5, 6 and 7 launch the release app (and the minimal baseline window) under Xvfb
# with a private D-Bus session, as scripts/e2e.sh does; xvfb-run and dbus-run-session stop
# the display and the bus when the bench ends, and the bench stops every app it launched.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
only=${1:-}
want() { [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]; }

target=${CARGO_TARGET_DIR:-target}
# Both cargo invocations below select the same packages and only binaries (criterion's
# signing benchmark is one too: crates/bench/Cargo.toml says why), so they resolve the same
# features and nothing is compiled twice. Invocations that resolved differently
# (`cargo bench`, then `cargo build`) compiled the shared crates again — from a clean clone
# that was 9 of the 23 minutes of building.
pkgs=(-p redeemdesk-bench -p redeemdesk-bench-ledgers -p redeemdesk -p redeemdesk-baseline)
build() { cargo build --release --quiet --message-format=json-render-diagnostics "${pkgs[@]}" "$@"; }
executables() { sed -n 's/.*"reason":"compiler-artifact".*"executable":"\([^"]*\)".*/\1/p'; }

# The ledgers of benchmarks 3, 4 and 7 (minutes of one thread) are made by
# redeemdesk-bench-ledgers, which needs only the core. Built first, it then runs on one core
# while the rest of the build compiles; in one invocation cargo left it, a leaf, to the end.
ledgers_pid=
stop_ledgers() { if [ -n "$ledgers_pid" ]; then kill "$ledgers_pid" 2>/dev/null || true; fi; }
trap stop_ledgers EXIT
if want 3 || want 4 || want 7; then
  ledgers=$(build --bin redeemdesk-bench-ledgers | executables)
  [ -x "$ledgers" ] || { echo "bench-record: redeemdesk-bench-ledgers was not built" >&2; exit 1; }
  echo "bench-record: making the benchmark ledgers while the build goes on" >&2
  # Under the repository's target/, where the bench looks for them.
  "$ledgers" target/bench-data &
  ledgers_pid=$!
fi
build --bins > /dev/null
if [ -n "$ledgers_pid" ]; then
  wait "$ledgers_pid" || { echo "bench-record: making the ledgers failed" >&2; exit 1; }
  ledgers_pid=
fi
trap - EXIT
if want 2; then
  # What `cargo bench` would run; the bench binary copies the estimates into BENCHMARKS.md.
  CRITERION_HOME="$target/criterion" "$target/release/redeemdesk-bench-signing" --bench
fi
args=(--out BENCHMARKS.md)
if [ -n "$only" ]; then args+=(--only "$only"); fi
exec dbus-run-session -- xvfb-run -a -s "-screen 0 1280x1024x24 -nolisten tcp" \
  "${CARGO_TARGET_DIR:-target}/release/redeemdesk-bench" "${args[@]}"
