#!/usr/bin/env bash
# The IMAP door's integration tests start a throwaway dovecot (tests/fixtures/processes.py);
# install Debian's dovecot-imapd when missing. CI runs as root.
set -euo pipefail
[ -x /usr/sbin/dovecot ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q dovecot-imapd
