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

if want 2; then
  cargo bench --quiet -p redeemdesk-bench --bench signing
fi
# The bench, the app and the minimal window in one cargo invocation (same profile, same
# tauri): separate invocations resolve different feature sets and compile the shared crates
# again — from a clean clone redeemdesk-core, reqwest and rsa were each built three times.
pkgs=(-p redeemdesk-bench)
if want 5 || want 6 || want 7; then pkgs+=(-p redeemdesk -p redeemdesk-baseline); fi
cargo build --release --quiet "${pkgs[@]}"
args=(--out BENCHMARKS.md)
if [ -n "$only" ]; then args+=(--only "$only"); fi
exec dbus-run-session -- xvfb-run -a -s "-screen 0 1280x1024x24 -nolisten tcp" \
  "${CARGO_TARGET_DIR:-target}/release/redeemdesk-bench" "${args[@]}"
