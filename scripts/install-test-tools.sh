#!/usr/bin/env bash
# Installs the Debian tools the integration tests use when they are missing: socat (PTY pairs standing in
# for USB-serial adapters), mosquitto (a real broker), openssl (test CAs), ping, PostgreSQL 15 (the
# county collector's second store: a real server per test run), chromium (the county console's browser
# tests, driven by playwright-core), a Chinese font (without one Chromium prints the console's pages as
# boxes: the printed monthly bulletin's test reads the PDF's text) and poppler-utils (pdftotext, which
# reads it page by page). Never assumed present.
set -euo pipefail
need=()
command -v socat >/dev/null || need+=(socat)
command -v mosquitto >/dev/null || need+=(mosquitto)
command -v mosquitto_passwd >/dev/null || need+=(mosquitto)
command -v mosquitto_pub >/dev/null || need+=(mosquitto-clients)
command -v openssl >/dev/null || need+=(openssl)
command -v ping >/dev/null || need+=(iputils-ping)
[ -x /usr/lib/postgresql/15/bin/postgres ] && [ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
[ -x /usr/lib/postgresql/15/bin/psql ] && [ -x /usr/lib/postgresql/15/bin/pg_dump ] || need+=(postgresql-client-15)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v pdftotext >/dev/null || need+=(poppler-utils)
command -v fc-list >/dev/null && fc-list :lang=zh 2>/dev/null | grep -q . || need+=(fonts-wqy-microhei)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
echo "==> installing test tools: ${need[*]}"
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The Debian packages start a system broker on 1883 and a cluster on 5432; the tests start their own
# on free ports.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now mosquitto >/dev/null 2>&1 || true
  $SUDO systemctl disable --now postgresql >/dev/null 2>&1 || true
fi
