#!/usr/bin/env bash
# `npm run test:package`: the package tests (tests/package/*.package-test.ts). Installs the package build
# tools when missing, then runs scripts/test.sh (test tools, typecheck, build, vitest, the closing
# "tests: N passed, N failed" line) with the package tests' vitest config: builds the amd64 and arm64
# packages, installs the amd64 one into a fresh debootstrap root, runs the arm64 tree under qemu, and
# installs the county package beside Debian's PostgreSQL 15 and mosquitto (county-install.package-test.ts),
# installs and runs both in Debian 11 (glibc 2.31) roots, the arm64 one a real arm64 userland under qemu.
# One file: bash scripts/package/test-package.sh tests/package/county-install.package-test.ts
# Several minutes and root; not part of npm test.
set -uo pipefail
cd "$(dirname "$0")/../.."

[ "$(id -u)" = 0 ] || { echo "test:package needs root (dpkg and chroot in a debootstrap root)"; exit 1; }
bash scripts/package/install-build-tools.sh || { echo "could not install the package build tools"; exit 1; }
started=$(date +%s)
bash scripts/test.sh --config tests/package/vitest.config.ts "$@"
status=$?
echo "package tests took $(( $(date +%s) - started )) s"
exit $status
