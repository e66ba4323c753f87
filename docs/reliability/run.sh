#!/usr/bin/env bash
# Runs tests/Reliability.Tests and tests/Security.Tests once, keeps their figures in docs/reliability/figures/ and
# renders docs/reliability.md from them (docs/reliability/render.py). About 5 minutes on an idle 2-core machine.
#
#   export ConnectionStrings__TestPostgres="Host=127.0.0.1;Username=postgres;Password=postgres"   # else Testcontainers
#   docs/reliability/run.sh
#
# Both suites must pass: the page quotes a run of the current code, not a failing one. PostgreSQL is required (the
# page has a PostgreSQL column), so REQUIRE_TEST_DEPENDENCIES=true turns a missing database into a failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
FIGURES=docs/reliability/figures
export REQUIRE_TEST_DEPENDENCIES=true

rm -rf TestResults/reliability TestResults/security
mkdir -p TestResults
started=$(date -u +%Y-%m-%dT%H:%M:%S)
load=$(cut -d' ' -f1 /proc/loadavg)
summary() { grep -E '^  (total|failed|succeeded|skipped):' "$1" | awk '{printf "%s%s %s", sep, $2, $1; sep=", "}' | tr -d ':'; }
# The page tests compare the page with the kept figures: they run once both are new (below).
for suite in Reliability Security; do
  echo "== $suite.Tests"
  dotnet test --project "tests/$suite.Tests/$suite.Tests.csproj" --filter-not-class '*ReliabilityPageTests' 2>&1 | tee "TestResults/$suite.log" \
    | grep -E '^(failed|  (total|failed|succeeded|skipped):)' || true
  if ! grep -q '^Test run summary: Passed!' "TestResults/$suite.log"; then
    echo "$suite.Tests failed (TestResults/$suite.log); the page is left as it was." >&2
    exit 1
  fi
done
finished=$(date -u +%Y-%m-%dT%H:%M:%S)

rm -rf "$FIGURES"
mkdir -p "$FIGURES"
cp TestResults/reliability/*.json "$FIGURES/"
cp TestResults/security/figures.json "$FIGURES/security.json"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
postgres=$(psql --version 2>/dev/null | awk '{print $3}' || true)
export STARTED=$started FINISHED=$finished COMMIT=$(git rev-parse HEAD) DIRTY=$(git status --porcelain -- src tests protos | awk '{print $2}')
export MACHINE="$(nproc) cpu ($cpu), $(uname -sr), .NET $(dotnet --version)${postgres:+, PostgreSQL client $postgres}, load average at start $load"
export RELIABILITY=$(summary TestResults/Reliability.log) SECURITY=$(summary TestResults/Security.log)
/usr/bin/python3 - > "$FIGURES/run.json" <<'EOF'
import json, os
run = {key.lower(): os.environ[key] for key in ("STARTED", "FINISHED", "COMMIT", "MACHINE", "RELIABILITY", "SECURITY")}
print(json.dumps(run | {"dirty": os.environ["DIRTY"].split()}, indent=2))
EOF
/usr/bin/python3 docs/reliability/render.py
dotnet test --project tests/Reliability.Tests/Reliability.Tests.csproj --no-build --filter-class '*ReliabilityPageTests' | tail -6
