#!/usr/bin/env bash
# Makes every icon the bundler needs from icons/source.svg (run after changing the source;
# the results are committed). Needs Debian's librsvg2-bin, icoutils and icnsutils:
#   sudo apt-get install librsvg2-bin icoutils icnsutils
set -euo pipefail
cd "$(dirname "$0")"
png() { rsvg-convert -w "$1" -h "$1" source.svg -o "$2"; }

for s in 16 24 32 48 64 128 256 512 1024; do png "$s" "tmp-$s.png"; done
cp tmp-32.png 32x32.png
cp tmp-64.png 64x64.png
cp tmp-128.png 128x128.png
cp tmp-256.png 128x128@2x.png
cp tmp-512.png icon.png
# Windows Store logos, which the bundler also looks for.
for s in 30 44 71 89 107 142 150 284 310; do png "$s" "Square${s}x${s}Logo.png"; done
png 50 StoreLogo.png
icotool -c -o icon.ico tmp-16.png tmp-24.png tmp-32.png tmp-48.png tmp-64.png tmp-256.png
png2icns icon.icns tmp-16.png tmp-32.png tmp-48.png tmp-128.png tmp-256.png tmp-512.png tmp-1024.png >/dev/null
rm -f tmp-*.png
cp source.svg ../ui/logo.svg
echo "icons written: $(ls | wc -l) files"
