#!/usr/bin/env bash
# Runs the Security and Reliability test projects N times in a row while full --no-incremental builds of a second
# copy of the repository run back to back, and records per iteration: start/end, load average, each project's
# summary line and its failed tests.
#
#   docs/reliability/stress.sh BUILD_COPY [N] [OUT_DIR]
#
# BUILD_COPY is another checkout (e.g. `git worktree add --detach ../wt-build HEAD`), so the concurrent build never
# overwrites the binaries under test. Build this copy first; the runs use --no-build. Set
# ConnectionStrings__TestPostgres and REQUIRE_TEST_DEPENDENCIES=true so a missing dependency fails instead of skipping.
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
build_copy=${1:?usage: $0 BUILD_COPY [N] [OUT_DIR]}
runs=${2:-5}
out=${3:-$(mktemp -d)}
projects=(tests/Security.Tests/Security.Tests.csproj tests/Reliability.Tests/Reliability.Tests.csproj)
mkdir -p "$out"
cd "$repo"

load() { cut -d' ' -f1-3 /proc/loadavg; }

# Back-to-back builds in their own process group (so one kill ends the build and its MSBuild and compiler processes),
# without node reuse or the shared compiler server: nothing outlives the series.
build_loop() {
  local n=0
  while true; do
    n=$((n + 1))
    echo "build $n start $(date -u +%T) load $(load)" >>"$out/builds.txt"
    dotnet build "$build_copy/Services.sln" --no-incremental -nodeReuse:false -p:UseSharedCompilation=false -v q >"$out/build-$n.log" 2>&1
    echo "build $n exit $? end $(date -u +%T) load $(load)" >>"$out/builds.txt"
  done
}

setsid bash -c "$(declare -f load build_loop); out='$out' build_copy='$build_copy'; build_loop" &
builder=$!
trap 'kill -- -"$builder" 2>/dev/null' EXIT
sleep 20 # past restore, into compilation

failures=0
for i in $(seq 1 "$runs"); do
  echo "== iteration $i start $(date -u +%T) load $(load)" | tee -a "$out/summary.txt"
  for p in "${projects[@]}"; do
    name=$(basename "$p" .csproj)
    log="$out/$i-$name.log"
    start=$(date -u +%T); before=$(load)
    dotnet test --project "$p" --no-build >"$log" 2>&1
    rc=$?
    summary=$(grep -E '^\s*(Test run summary|total:|failed:|succeeded:|skipped:|duration:)' "$log" | tr -s ' \n' ' ')
    echo "  $name $start-$(date -u +%T) exit $rc load $before -> $(load): $summary" | tee -a "$out/summary.txt"
    if [ "$rc" -ne 0 ]; then
      failures=$((failures + 1))
      grep -E -A12 '^\s*failed ' "$log" | sed 's/^/    /' | tee -a "$out/summary.txt"
    fi
  done
  echo "== iteration $i end $(date -u +%T) load $(load); builds finished so far: $(grep -c exit "$out/builds.txt")" | tee -a "$out/summary.txt"
done
echo "failing project runs: $failures (logs in $out)" | tee -a "$out/summary.txt"
exit $((failures > 0))
