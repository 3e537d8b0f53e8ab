#!/usr/bin/env bash
# Renders assets/icon/rl-research.svg into the PNGs (16-512 px), the Windows .ico
# and the macOS .icns that are committed next to it. Run after editing the SVG.
# Needs: rsvg-convert (apt-get install librsvg2-bin) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
SVG=assets/icon/rl-research.svg
for n in 16 24 32 48 64 128 256 512 1024; do
    rsvg-convert -w "$n" -h "$n" "$SVG" -o "assets/icon/rl-research-$n.png"
done
python3 packaging/pack-icons.py
rm -f assets/icon/rl-research-1024.png
