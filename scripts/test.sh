#!/usr/bin/env bash
# The whole test run: test tools, typecheck, build, every test (unit + integration). Used by the
# README's test command and by .ci/run. Ends with the summary line "tests: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-tools.sh || { echo "could not install the test tools (socat, mosquitto, postgresql-15, chromium, poppler-utils, a Chinese font)"; exit 1; }
for tool in socat mosquitto mosquitto_passwd openssl /usr/lib/postgresql/15/bin/postgres /usr/lib/postgresql/15/bin/initdb /usr/bin/chromium pdftotext; do
  command -v "$tool" >/dev/null || { echo "missing test tool: $tool"; exit 1; }
done
# The printed 通报's test reads Chinese out of Chromium's PDF: without a Chinese font it prints boxes.
fc-list :lang=zh 2>/dev/null | grep -q . || { echo "missing test tool: a Chinese font (fonts-wqy-microhei)"; exit 1; }

echo "==> typecheck"
npm run -s typecheck || exit 1
echo "==> build"
npm run -s build || exit 1

echo "==> tests"
results=$(mktemp)
./node_modules/.bin/vitest run --reporter=default --reporter=json --outputFile="$results" "$@"
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
  // A suite that failed to load has no failed test, but the run failed all the same.
  if (status !== 0 && failed === 0) failed = 1;
  console.log(`tests: ${passed} passed, ${failed} failed`);
' "$results" "$status"
rm -f "$results"
exit $status
