#!/usr/bin/env bash
# The end-to-end suite: the real app binary under Xvfb with a private D-Bus session, driven
# through tauri-driver + WebKitWebDriver. xvfb-run and dbus-run-session stop the display
# and the bus they started when the tests end; each test stops its own driver's process
# group by PID (crates/e2e/src/lib.rs). Screenshots land in target/e2e/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
cargo build -p redeemdesk
mkdir -p target/e2e
exec dbus-run-session -- xvfb-run -a -s "-screen 0 1280x1024x24 -nolisten tcp" \
  cargo test -p redeemdesk-e2e -- --test-threads=1 "$@"
