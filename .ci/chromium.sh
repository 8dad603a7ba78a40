#!/usr/bin/env bash
# Browser tests drive Debian's chromium; install it (and the fonts that draw Khmer and Kannada in
# screenshots) when missing. CI runs as root.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || [ -n "${CHROMIUM_PATH:-}" ] || need+=(chromium)
dpkg -s fonts-khmeros >/dev/null 2>&1 || need+=(fonts-khmeros)
dpkg -s fonts-lohit-knda >/dev/null 2>&1 || need+=(fonts-lohit-knda)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q "${need[@]}"
