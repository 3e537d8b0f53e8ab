#!/usr/bin/env bash
# Builds "target/macos/RL Research.app" (run on macOS): the release binary,
# Info.plist and the icon. Double-click it in Finder, or drag it to /Applications.
# The app is not signed: the first launch needs right-click > Open.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --locked --release --bin rl-research
target="${CARGO_TARGET_DIR:-target}"
app="target/macos/RL Research.app"
rm -rf "$app"
mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources"
cp "$target/release/rl-research" "$app/Contents/MacOS/rl-research"
cp packaging/macos/Info.plist "$app/Contents/Info.plist"
cp packaging/macos/rl-research.icns "$app/Contents/Resources/rl-research.icns"
plutil -lint "$app/Contents/Info.plist" >/dev/null 2>&1 || true
echo "$app"
