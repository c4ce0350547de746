#!/usr/bin/env bash
# Builds and starts the app. Without a display it runs under Xvfb (the window is there, just
# not visible: useful on a server or in CI to prove that it starts).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -p redeemdesk
if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  exec target/debug/redeemdesk "$@"
fi
echo "No display: starting RedeemDesk under Xvfb."
exec xvfb-run -a -s "-screen 0 1280x1024x24 -nolisten tcp" target/debug/redeemdesk "$@"
