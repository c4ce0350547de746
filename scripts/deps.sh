#!/usr/bin/env bash
# Installs what `make run` / `make test` need and is missing; silent when all is present.
#   scripts/deps.sh run    — build the app and show its window (headless: under Xvfb)
#   scripts/deps.sh test   — the above, plus WebDriver for the end-to-end tests
set -euo pipefail
want=${1:-test}

# Debian/Ubuntu package names. fonts-wqy-microhei: Chinese glyphs under a bare Xvfb;
# dbus: a private session bus under Xvfb (GTK and WebKit ask it for the accessibility bus).
packages=(build-essential pkg-config libwebkit2gtk-4.1-dev xvfb xauth fonts-wqy-microhei dbus)
if [ "$want" = test ]; then
  # postgresql: the HQ tests (crates/hq) start a throwaway cluster with scripts/pg.sh;
  # openssl: their TLS test makes its own CA.
  packages+=(webkit2gtk-driver postgresql openssl)
fi

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
fi

if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "RedeemDesk needs: ${missing[*]} (Debian/Ubuntu names). Install them with your system's package manager." >&2
    exit 1
  fi
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
      echo "Installing ${missing[*]} needs root: run as root or install sudo." >&2; exit 1
    fi
  fi
  echo "Installing system packages: ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif ! command -v dpkg-query >/dev/null 2>&1; then
  # Not Debian: check the things themselves and say what is missing.
  pkg-config --exists webkit2gtk-4.1 2>/dev/null || { echo "RedeemDesk needs WebKitGTK 4.1 development files (webkit2gtk-4.1) and pkg-config." >&2; exit 1; }
  if [ "$want" = test ]; then
    command -v WebKitWebDriver >/dev/null || { echo "The end-to-end tests need WebKitWebDriver (webkit2gtk-driver)." >&2; exit 1; }
    command -v initdb >/dev/null || { echo "The HQ tests need PostgreSQL's server (initdb, pg_ctl)." >&2; exit 1; }
  fi
fi

if [ "$want" = test ] && ! command -v tauri-driver >/dev/null 2>&1; then
  echo "Installing tauri-driver (cargo install, about 30 s)"
  cargo install tauri-driver --locked --quiet --version '^2'
fi
