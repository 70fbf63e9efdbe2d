#!/usr/bin/env bash
# Takes a headless-Chromium screenshot of a sweep's report.html, to check that it renders in a
# real browser.
#
#   scripts/screenshot-report.sh [REPORT.html] [OUT.png]
#
# Defaults: target/faultline/report.html and target/faultline/report.png. Needs `chromium`
# (Debian: `apt-get install -y chromium`); the page is self-contained, so no network is used.
set -euo pipefail

report="${1:-target/faultline/report.html}"
png="${2:-${report%.html}.png}"

if [[ ! -f "$report" ]]; then
    echo "error: $report: no such file (run \`faultline sweep\` first)" >&2
    exit 2
fi
browser=""
for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then
        browser="$b"
        break
    fi
done
if [[ -z "$browser" ]]; then
    echo "error: no chromium found; install it with: apt-get install -y chromium" >&2
    exit 2
fi

profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
url="file://$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"
mkdir -p "$(dirname "$png")"
png_abs="$(cd "$(dirname "$png")" && pwd)/$(basename "$png")"

"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars \
    --screenshot="$png_abs" --window-size="${WINDOW_SIZE:-1400,2000}" "$url" >/dev/null 2>&1

if [[ ! -s "$png_abs" ]]; then
    echo "error: chromium wrote no screenshot to $png_abs" >&2
    exit 1
fi
echo "$png_abs"
