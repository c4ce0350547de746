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
# signing benchmark (benchmark 2), the app and the minimal window. Separate invocations
# (`cargo bench`, then `cargo build`) resolve different feature sets and compiled the shared
# crates again — from a clean clone that was 9 of the 23 minutes of building.
pkgs=(-p redeemdesk-bench --bins)
if want 2; then pkgs+=(--bench signing); fi
if want 5 || want 6 || want 7; then pkgs+=(-p redeemdesk -p redeemdesk-baseline); fi
# The ledgers of benchmarks 3, 4 and 7 (minutes of one thread) are made by
# redeemdesk-bench-ledgers, which needs only the core: cargo finishes it minutes before the
# rest, and it runs on one core while the compiler keeps the other (the build's last
# minutes ran two compilers; the generation after them ran alone on one core).
ledgers=
if want 3 || want 4 || want 7; then pkgs+=(-p redeemdesk-bench-ledgers); ledgers=1; fi
signing=
ledgers_pid=
stop_ledgers() { if [ -n "$ledgers_pid" ]; then kill "$ledgers_pid" 2>/dev/null || true; fi; }
trap stop_ledgers EXIT
# cargo's messages as they come: each executable is announced when it is linked.
exec {build}< <(cargo build --release --quiet --message-format=json-render-diagnostics "${pkgs[@]}")
build_pid=$!
while IFS= read -r -u "$build" line; do
  case $line in
    *'"reason":"compiler-artifact"'*'"executable":"'*) ;;
    *) continue ;;
  esac
  exe=${line##*\"executable\":\"}
  exe=${exe%%\"*}
  case $line in
    *'"kind":["bench"]'*) signing=$exe ;;
  esac
  if [ -n "$ledgers" ] && [ -z "$ledgers_pid" ] && [[ $exe == */redeemdesk-bench-ledgers ]]; then
    echo "bench-record: making the benchmark ledgers while the build goes on" >&2
    # Under the repository's target/, where the bench looks for them.
    "$exe" target/bench-data &
    ledgers_pid=$!
  fi
done
exec {build}<&-
wait "$build_pid" || { echo "bench-record: the release build failed" >&2; exit 1; }
if [ -n "$ledgers_pid" ]; then
  wait "$ledgers_pid" || { echo "bench-record: making the ledgers failed" >&2; exit 1; }
  ledgers_pid=
fi
trap - EXIT
if want 2; then
  # What `cargo bench` would run; the bench binary copies the estimates into BENCHMARKS.md.
  [ -x "$signing" ] || { echo "bench-record: the signing benchmark was not built" >&2; exit 1; }
  CRITERION_HOME="$target/criterion" "$signing" --bench
fi
args=(--out BENCHMARKS.md)
if [ -n "$only" ]; then args+=(--only "$only"); fi
exec dbus-run-session -- xvfb-run -a -s "-screen 0 1280x1024x24 -nolisten tcp" \
  "${CARGO_TARGET_DIR:-target}/release/redeemdesk-bench" "${args[@]}"
