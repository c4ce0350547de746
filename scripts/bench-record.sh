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
# Everything in ONE cargo invocation and one profile (release): the bench, criterion's
# signing benchmark (benchmark 2, a binary: crates/bench/Cargo.toml says why), the app and
# the minimal window, whichever benchmarks run, so a partial run compiles nothing again.
# Separate invocations resolved different feature sets and compiled the shared crates
# again (docs/measurements.md).
cargo build --release --quiet -p redeemdesk-bench -p redeemdesk -p redeemdesk-baseline --bins
if want 2; then
  # What `cargo bench` would run; the bench binary copies the estimates into BENCHMARKS.md.
  CRITERION_HOME="$target/criterion" "$target/release/redeemdesk-bench-signing" --bench
fi
args=(--out BENCHMARKS.md)
if [ -n "$only" ]; then args+=(--only "$only"); fi
exec dbus-run-session -- xvfb-run -a -s "-screen 0 1280x1024x24 -nolisten tcp" \
  "$target/release/redeemdesk-bench" "${args[@]}"
