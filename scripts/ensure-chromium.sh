#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (a downloaded browser cannot be fetched here).
# Installs it when missing and we are root with apt-get; otherwise says how to get it.
set -u
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null && exit 0
  echo "apt-get could not install chromium" >&2
fi
echo "Chromium is not installed: browser tests will be skipped (CI fails instead)." >&2
echo "Install it with: sudo apt-get install chromium   (or set CARE_DASHBOARD_CHROMIUM=/path/to/chrome)" >&2
exit 0
