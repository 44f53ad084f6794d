#!/usr/bin/env bash
# Screenshots of the county console for docs/screenshots/ (scripts/county/console/screenshots.ts): a
# seeded 500-station county in Debian's Chromium. Installs what it needs when missing: chromium (via the
# test tools) and a Chinese font (fonts-noto-cjk), without which Chromium draws the pages as boxes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-tools.sh
if ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  SUDO=
  [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "==> installing a Chinese font: fonts-noto-cjk"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends fonts-noto-cjk >/dev/null
fi
npm run -s build
node dist/scripts/county/console/screenshots.js docs/screenshots
