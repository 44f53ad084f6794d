#!/usr/bin/env bash
# `npm run test:package`: the package tests (tests/package/*.package-test.ts). Installs the build tools
# when missing, typechecks and builds, then builds the amd64 and arm64 packages, installs the amd64 one
# into a fresh debootstrap root and runs the arm64 tree under qemu. Several minutes; not part of npm test.
# Ends with "tests: N passed, N failed" like scripts/test.sh.
set -uo pipefail
cd "$(dirname "$0")/../.."

bash scripts/install-test-tools.sh || { echo "could not install the test tools"; exit 1; }
bash scripts/package/install-build-tools.sh || { echo "could not install the package build tools"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "test:package needs root (dpkg in a chroot)"; exit 1; }

echo "==> typecheck"
npm run -s typecheck || exit 1
echo "==> build"
npm run -s build || exit 1

echo "==> package tests"
started=$(date +%s)
results=$(mktemp)
./node_modules/.bin/vitest run --config tests/package/vitest.config.ts --reporter=default --reporter=json --outputFile="$results" "$@"
status=$?
node -e '
  const fs = require("node:fs");
  const [file, status] = [process.argv[1], Number(process.argv[2])];
  let passed = 0, failed = 0;
  try {
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    passed = r.numPassedTests;
    failed = r.numFailedTests;
  } catch {}
  if (status !== 0 && failed === 0) failed = 1;
  console.log(`tests: ${passed} passed, ${failed} failed`);
' "$results" "$status"
rm -f "$results"
echo "package tests took $(( $(date +%s) - started )) s"
exit $status
