#!/usr/bin/env bash
# Screenshots of the county console for docs/screenshots/ (scripts/console/screenshots.ts): a
# seeded 500-station county in Debian's Chromium. Installs what it needs when missing: chromium (via the
# test tools), a Chinese font (fonts-noto-cjk), without which Chromium draws the pages as boxes, and
# Chromium's translations (chromium-l10n), without which its form controls speak English.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-tools.sh
if ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  SUDO=
  [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "==> installing a Chinese font: fonts-noto-cjk"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends fonts-noto-cjk >/dev/null
fi
# Chromium's own Chinese (a time field reads 19:30, not 07:30 PM): Debian ships it apart from chromium.
if [ ! -e /usr/lib/chromium/locales/zh-CN.pak ]; then
  SUDO=
  [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "==> installing Chromium's translations: chromium-l10n"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium-l10n >/dev/null
fi
npm run -s build
node dist/scripts/console/screenshots.js docs/screenshots
