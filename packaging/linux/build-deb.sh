#!/usr/bin/env bash
# Builds target/debian/rl-research_<version>_<arch>.deb: the binary, the desktop
# entry, AppStream metainfo and the icons (hicolor 16-512 px + scalable SVG).
#   packaging/linux/build-deb.sh [--release]
# Default: the dev profile that tests use (opt-level 3 everywhere, so the build
# `cargo test` made is reused); --release builds the release profile (LTO off,
# another full build). Needs: cargo, dpkg-deb; strips the binary when `strip` exists.
set -euo pipefail
cd "$(dirname "$0")/../.."
profile=debug
args=(--locked)
if [ "${1:-}" = "--release" ]; then
    profile=release
    args+=(--release)
elif [ -n "${1:-}" ]; then
    echo "error: unknown option '$1': only --release" >&2
    exit 2
fi
command -v dpkg-deb >/dev/null || { echo "error: dpkg-deb not found (Debian/Ubuntu: apt-get install dpkg)" >&2; exit 1; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rl-research/target}"
cargo build "${args[@]}" --bin rl-research

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
arch=$(dpkg --print-architecture)
out_dir=target/debian
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/rl-research_${version}_${arch}"

install -Dm755 "$CARGO_TARGET_DIR/$profile/rl-research" "$root/usr/bin/rl-research"
if command -v strip >/dev/null; then
    strip --strip-debug "$root/usr/bin/rl-research"
fi
install -Dm644 packaging/linux/rl-research.desktop "$root/usr/share/applications/rl-research.desktop"
install -Dm644 packaging/linux/io.github.rl_research.RLResearch.metainfo.xml "$root/usr/share/metainfo/io.github.rl_research.RLResearch.metainfo.xml"
for n in 16 24 32 48 64 128 256 512; do
    install -Dm644 "assets/icon/rl-research-$n.png" "$root/usr/share/icons/hicolor/${n}x${n}/apps/rl-research.png"
done
install -Dm644 assets/icon/rl-research.svg "$root/usr/share/icons/hicolor/scalable/apps/rl-research.svg"
install -Dm644 README.md "$root/usr/share/doc/rl-research/README.md"
# The user guide beside it, so the README's links into docs/ resolve there too.
for d in docs/*.md docs/images/*.png; do
    install -Dm644 "$d" "$root/usr/share/doc/rl-research/$d"
done
for c in configs/*.ron; do
    install -Dm644 "$c" "$root/usr/share/doc/rl-research/examples/$(basename "$c")"
done
cat > "$root/usr/share/doc/rl-research/copyright" <<'COPYRIGHT'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: rl-research
License: MIT OR Apache-2.0
COPYRIGHT

installed_kib=$(du -sk "$root/usr" | cut -f1)
mkdir -p "$root/DEBIAN"
cat > "$root/DEBIAN/control" <<CONTROL
Package: rl-research
Version: $version
Architecture: $arch
Maintainer: The RL Research developers <rl-research@users.noreply.github.com>
Installed-Size: $installed_kib
Depends: libc6, libgcc-s1, libstdc++6
Recommends: libegl1, libgl1-mesa-dri, libvulkan1, libx11-xcb1, libxcursor1, libxi6, libxkbcommon-x11-0, xdg-desktop-portal
Suggests: zenity
Section: science
Priority: optional
Description: Run, track and compare reinforcement-learning experiments
 A desktop app and command line to train PPO and DQN agents on
 Gymnasium-exact CartPole and LunarLander environments, browse and compare
 runs, replay evaluation episodes frame by frame and export them as MP4.
CONTROL
# Menus and icon caches refresh themselves through dpkg triggers
# (desktop-file-utils, hicolor-icon-theme) when those are installed.
mkdir -p "$out_dir"
dpkg-deb --build --root-owner-group "$root" "$out_dir/" >/dev/null
deb="$out_dir/rl-research_${version}_${arch}.deb"
echo "$deb ($(du -h "$deb" | cut -f1))"
