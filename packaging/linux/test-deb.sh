#!/usr/bin/env bash
# Packaging test (Debian/Ubuntu, as root): validates the desktop entry and the
# AppStream metainfo, builds the .deb, installs it with dpkg -i, checks the
# installed files with dpkg -L, launches the installed desktop entry's command
# under Xvfb without a terminal, waits for the "RL Research" window, closes it
# with SIGTERM (as a session logout does), expects a clean exit and a log file
# under the user's data directory, and removes the package again.
#   packaging/linux/test-deb.sh [SCREENSHOT.png]
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "error: run as root (it installs the package with dpkg -i)" >&2; exit 1; }

need_pkgs=()
command -v desktop-file-validate >/dev/null || need_pkgs+=(desktop-file-utils)
command -v Xvfb >/dev/null || need_pkgs+=(xvfb)
command -v xwininfo >/dev/null || need_pkgs+=(x11-utils)
command -v pgrep >/dev/null || need_pkgs+=(procps)
# What the window needs at run time (the package recommends these).
for lib in libegl1 libgl1-mesa-dri libx11-xcb1 libxcursor1 libxi6 libxkbcommon-x11-0; do
    dpkg -s "$lib" >/dev/null 2>&1 || need_pkgs+=("$lib")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
    echo "installing ${need_pkgs[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

echo "== desktop entry and metainfo"
desktop-file-validate packaging/linux/rl-research.desktop
if command -v appstreamcli >/dev/null; then
    appstreamcli validate --no-net packaging/linux/io.github.rl_research.RLResearch.metainfo.xml
fi

echo "== build"
deb=$(bash packaging/linux/build-deb.sh | tail -n1 | cut -d' ' -f1)
[ -f "$deb" ] || { echo "error: no package built" >&2; exit 1; }

echo "== dpkg -i $deb"
dpkg -i "$deb" >/dev/null
trap 'dpkg -r rl-research >/dev/null 2>&1 || true' EXIT
files=$(dpkg -L rl-research)
expected=(/usr/bin/rl-research /usr/share/applications/rl-research.desktop
    /usr/share/metainfo/io.github.rl_research.RLResearch.metainfo.xml
    /usr/share/icons/hicolor/scalable/apps/rl-research.svg
    /usr/share/doc/rl-research/README.md /usr/share/doc/rl-research/docs/README.md
    /usr/share/doc/rl-research/docs/configuration-keys.md)
for n in 16 24 32 48 64 128 256 512; do
    expected+=("/usr/share/icons/hicolor/${n}x${n}/apps/rl-research.png")
done
for f in "${expected[@]}"; do
    grep -qx "$f" <<<"$files" || { echo "error: dpkg -L does not list $f" >&2; exit 1; }
    [ -e "$f" ] || { echo "error: $f is listed but missing" >&2; exit 1; }
done
echo "installed ${#expected[@]} expected files"
desktop-file-validate /usr/share/applications/rl-research.desktop
/usr/bin/rl-research --version

echo "== launch the installed entry under Xvfb"
exec_line=$(sed -n 's/^Exec=//p' /usr/share/applications/rl-research.desktop | sed 's/ %[fFuUdDnNickvm]//g')
display=:$((90 + RANDOM % 9))
Xvfb "$display" -screen 0 1280x800x24 >/dev/null 2>&1 &
xvfb=$!
home=$(mktemp -d)
cleanup() { kill "$xvfb" 2>/dev/null || true; rm -rf "$home"; dpkg -r rl-research >/dev/null 2>&1 || true; }
trap cleanup EXIT
sleep 2
# As a menu launch: no terminal (stdin/out/err are not ttys), a fresh home, cwd = home.
(cd "$home" && HOME="$home" XDG_DATA_HOME= XDG_CONFIG_HOME= DISPLAY="$display" setsid $exec_line </dev/null >"$home/stdout.txt" 2>&1) &
app=$!
for _ in $(seq 1 120); do
    if DISPLAY="$display" xwininfo -root -tree 2>/dev/null | grep -q '"RL Research"'; then
        break
    fi
    kill -0 "$app" 2>/dev/null || { echo "error: the app exited before its window appeared:" >&2; cat "$home/stdout.txt" "$home/.local/share/rl-research/rl-research.log" >&2 || true; exit 1; }
    sleep 0.5
done
DISPLAY="$display" xwininfo -root -tree | grep '"RL Research"' || { echo "error: no window titled RL Research after 60 s" >&2; exit 1; }
sleep 3
if [ -n "${1:-}" ] && command -v import >/dev/null; then
    DISPLAY="$display" import -window root "$1" && echo "screenshot: $1"
fi
pid=$(pgrep -f -n "^/usr/bin/rl-research|^rl-research" || true)
kill -TERM "${pid:-$app}"
for _ in $(seq 1 60); do
    kill -0 "$app" 2>/dev/null || break
    sleep 0.5
done
if kill -0 "$app" 2>/dev/null; then
    echo "error: the app did not exit within 30 s of SIGTERM" >&2
    exit 1
fi
wait "$app" && rc=0 || rc=$?
[ "$rc" = 0 ] || { echo "error: the app exited with $rc after SIGTERM:" >&2; cat "$home/stdout.txt" >&2; exit 1; }
log="$home/.local/share/rl-research/rl-research.log"
[ -s "$log" ] || { echo "error: no log at $log (launched without a terminal)" >&2; exit 1; }
grep -q "starting the desktop app" "$log"
runs_line=$(grep "runs directory" "$log" | tail -n1)
case "$runs_line" in
    *"runs directory $home/"*) echo "runs directory defaults into the user's home: ${runs_line##*runs directory }" ;;
    *) echo "error: the runs directory is not under the user's home: $runs_line" >&2; exit 1 ;;
esac
echo "window appeared, closed cleanly on SIGTERM, log at ~/.local/share/rl-research/rl-research.log"
echo "packaging test passed"
