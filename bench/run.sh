#!/usr/bin/env bash
# Runs every benchmark and writes docs/benchmarks.md; the last line printed is the full-pipeline / bare ratio.
#
#   bench/run.sh                      # everything, ~19 minutes on a 2-core machine
#   BENCH_QUICK=1 bench/run.sh        # smoke run (~4 minutes): 2 s per measurement, one repeat, no micro-benchmarks
#
# Servers run pinned to core BENCH_SERVER_CPU (0), every client (loadgen, h2load) to BENCH_CLIENT_CPU (1), both
# pinned from exec, so .NET sees one CPU as in a container with a 1-CPU limit. Release builds. Loopback only.
# Every process the script starts is stopped when it ends, however it ends. Settings (environment variables):
#   BENCH_DURATION=8 BENCH_WARMUP=3 BENCH_REPEATS=3 BENCH_PEER_REPEATS=2   seconds / repeats of each measurement
#   BENCH_PRIME=10                                seconds of unmeasured GetItem load on each server before its first run
#                                                 (PlaceOrder: twice as long, on both services, before scenario 2's first run)
#   BENCH_SETTLE_STEPS=8                          PlaceOrder: at most this many unmeasured 2 s steps before each row,
#                                                 until the JIT settles (1 with BENCH_QUICK)
#   BENCH_CONNECTIONS=4 BENCH_CONCURRENCY=64      unary load: HTTP/2 connections x calls in flight (loadgen and h2load)
#   BENCH_PG="Host=127.0.0.1;Username=postgres;Password=postgres"   PostgreSQL for scenarios 2 and 3 (skipped if down)
#   BENCH_SKIP_MICRO=1 BENCH_SKIP_PG=1 BENCH_SKIP_PEERS=1 BENCH_PC2=0 BENCH_INSTALL=0   leave parts out / never apt-get or npm
#   BENCH_DOC=docs/benchmarks.md BENCH_OUT=bench/out/latest             where the report and raw results go
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

QUICK=${BENCH_QUICK:-0}
if [[ $QUICK == 1 ]]; then
  DURATION=${BENCH_DURATION:-2}; WARMUP=${BENCH_WARMUP:-1}; REPEATS=${BENCH_REPEATS:-1}; PEER_REPEATS=${BENCH_PEER_REPEATS:-1}; PRIME=${BENCH_PRIME:-0}
  SKIP_MICRO=${BENCH_SKIP_MICRO:-1}; SETTLE_STEPS=${BENCH_SETTLE_STEPS:-1}
else
  DURATION=${BENCH_DURATION:-8}; WARMUP=${BENCH_WARMUP:-3}; REPEATS=${BENCH_REPEATS:-3}; PEER_REPEATS=${BENCH_PEER_REPEATS:-2}; PRIME=${BENCH_PRIME:-10}
  SKIP_MICRO=${BENCH_SKIP_MICRO:-0}; SETTLE_STEPS=${BENCH_SETTLE_STEPS:-8}
fi
SERVER_CPU=${BENCH_SERVER_CPU:-0}
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
CONNECTIONS=${BENCH_CONNECTIONS:-4}
CONCURRENCY=${BENCH_CONCURRENCY:-64}
PG=${BENCH_PG:-Host=127.0.0.1;Username=postgres;Password=postgres}
SKIP_PG=${BENCH_SKIP_PG:-0}
SKIP_PEERS=${BENCH_SKIP_PEERS:-0}
INSTALL=${BENCH_INSTALL:-1}
DOC=${BENCH_DOC:-docs/benchmarks.md}
OUT=${BENCH_OUT:-bench/out/latest}
DEV_KEY=$(sed -n 's/.*DevelopmentKey = "\(.*\)";/\1/p' src/Contracts/Auth/DevTokens.cs)
PY=/usr/bin/python3   # Debian's python3, which python3-grpcio installs into

rm -rf "$OUT"
mkdir -p "$OUT/logs" "$OUT/db" "$OUT/results"
OUT=$(cd "$OUT" && pwd)
exec > >(tee "$OUT/run.log") 2>&1
SCRIPT_START=$(date +%s)

log() { printf '\n== %s  [%ss]\n' "$*" "$(( $(date +%s) - SCRIPT_START ))"; }

# ---------------------------------------------------------------- processes
declare -A PIDS=()
declare -A URLS=()   # gRPC address of each server by name
declare -A WEB=()    # HTTP/1.1 (REST/JSON) address of each real service by name
declare -A MGMT=()   # Management address (health, /metrics) of each real service by name

# start NAME CPU DIR CMD...: runs CMD in DIR on core CPU, in its own process group, output to logs/NAME.log.
start() {
  local name=$1 cpu=$2 dir=$3; shift 3
  (cd "$dir" && exec setsid taskset -c "$cpu" "$@" >"$OUT/logs/$name.log" 2>&1) &
  PIDS[$name]=$!
}

stop() {
  local name=$1 pid=${PIDS[$1]:-}
  [[ -z $pid ]] && return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "PIDS[$name]"
}

cleanup() {
  local name
  for name in "${!PIDS[@]}"; do stop "$name"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

LG_DLL=$ROOT/bench/LoadGen/bin/Release/net10.0/Contoso.Retail.LoadGen.dll
lg() { timeout 300 taskset -c "$CLIENT_CPU" dotnet "$LG_DLL" "$@"; }

# metric NAME SERIES: a real service's current value of a Prometheus series on its Management port (empty if none).
metric() {
  curl -s --max-time 10 "${MGMT[$1]:-http://127.0.0.1:1}/metrics" |
    awk -v s="$2" '!found && ($1 == s || index($1, s "{") == 1) {print $2; found = 1}'
  # (awk reads to the end: exiting at the first match could close the pipe while curl still writes, and curl's
  # write error would then fail this function under pipefail)
}

# wait_serving NAME URL T0_MS [loadgen options]: waits for grpc.health.v1 SERVING (or, with --call, for a method's
# first OK answer); records ms since T0, and 2 s later the idle RSS and (real services) how many methods the JIT had
# compiled by then: what ReadyToRun left to compile at startup.
wait_serving() {
  local name=$1 url=$2 t0=$3 ms
  if ! ms=$(lg wait-serving --target "$url" --since-unix-ms "$t0" --timeout 90s "${@:4}"); then
    echo "$name did not become SERVING; its log:"; tail -30 "$OUT/logs/$name.log"; exit 1
  fi
  echo "$name SERVING after $ms ms"
  [[ -z ${RECORD_STARTUP:-} ]] && return 0
  sleep 2
  local rss
  rss=$(awk '/VmRSS/ {print $2}' "/proc/${PIDS[$name]}/status")
  local jit=""; [[ -n ${MGMT[$name]:-} ]] && jit=$(metric "$name" dotnet_jit_compiled_methods_total)
  printf '{"name": "%s", "startupMs": %s, "idleRssKb": %s, "jitMethods": %s}\n' "$name" "$ms" "$rss" "${jit:-null}" \
    >"$OUT/results/startup-$name.json"
}

now_ms() { date +%s%3N; }

# Environment shared by the real services: "Test", which ServiceDefaults treats like Production (no per-call Debug
# lines, no reflection, no detailed errors) except that it accepts the development signing key; no drain delay.
# DOTNET_TC_CallCountingDelayMs=0: on one CPU the runtime waits 10x longer (1 s) before promoting hot methods from
# quick tier-0 code, and restarts that wait while new methods keep being compiled; under saturating load a server
# then ran tier-0 code for 30-60 s and went from ~1,700 to ~4,000 GetItem/s only after an idle pause (measured with
# the bare server; see docs/benchmarks.md). Every .NET server here, bare and full alike, gets it.
# The shipped services run as the Dockerfile publishes them (ReadyToRun, see "build") and with no runtime knob the
# images do not set; their runtimeconfig.json carries a 10 ms delay (100 ms on one CPU, from Directory.Build.props)
# since round 7. The reference servers (BenchServer, the Greeter) are built with `dotnet build` and get the knob.
EXTRA_ENV=""   # more NAME=VALUE settings for the next service started (the processor-count variant)
service_env() {
  echo ASPNETCORE_ENVIRONMENT=Test Auth__DevSigningKey="$DEV_KEY" Shutdown__DrainDelay=00:00:00 DOTNET_NOLOGO=1 $EXTRA_ENV
}
reference_env() { echo "$(service_env)" DOTNET_TC_CallCountingDelayMs=0; }
PUB=$OUT/publish   # the services, published as the Dockerfile does

# start_inventory NAME PROVIDER: the real Inventory service (Program.cs, appsettings.json) on new ports.
start_inventory() {
  local name=$1 provider=$2 port mport wport conn t0
  port=$(free_port); mport=$(free_port); wport=$(free_port)
  if [[ $provider == Sqlite ]]; then conn="Data Source=${3:-$OUT/db/$name.db}"; else conn="$PG;Database=bench_${name//-/_}"; fi
  t0=$(now_ms)
  # shellcheck disable=SC2046
  start "$name" "$SERVER_CPU" "$PUB/Inventory" env $(service_env) Database__Provider="$provider" \
    ConnectionStrings__Inventory="$conn" Inventory__SeedSampleData=true \
    Kestrel__Endpoints__Grpc__Url="http://127.0.0.1:$port" Kestrel__Endpoints__Management__Url="http://127.0.0.1:$mport" \
    Kestrel__Endpoints__Web__Url="http://127.0.0.1:$wport" \
    dotnet Contoso.Retail.Inventory.dll
  URLS[$name]=http://127.0.0.1:$port; MGMT[$name]=http://127.0.0.1:$mport
  WEB[$name]=http://127.0.0.1:$wport
  wait_serving "$name" "http://127.0.0.1:$port" "$t0"
}

start_orders() {
  local name=$1 provider=$2 inventory=$3 port mport conn t0
  port=$(free_port); mport=$(free_port)
  if [[ $provider == Sqlite ]]; then conn="Data Source=${4:-$OUT/db/$name.db}"; else conn="$PG;Database=bench_${name//-/_}"; fi
  t0=$(now_ms)
  # shellcheck disable=SC2046
  start "$name" "$SERVER_CPU" "$PUB/Orders" env $(service_env) Database__Provider="$provider" \
    ConnectionStrings__Orders="$conn" Services__Inventory="$inventory" \
    Kestrel__Endpoints__Grpc__Url="http://127.0.0.1:$port" Kestrel__Endpoints__Management__Url="http://127.0.0.1:$mport" \
    Kestrel__Endpoints__Web__Url="http://127.0.0.1:$(free_port)" \
    dotnet Contoso.Retail.Orders.dll
  URLS[$name]=http://127.0.0.1:$port; MGMT[$name]=http://127.0.0.1:$mport
  wait_serving "$name" "http://127.0.0.1:$port" "$t0"
}

start_telemetry() {
  local name=$1 provider=$2 port mport conn t0
  port=$(free_port); mport=$(free_port)
  if [[ $provider == Sqlite ]]; then conn="Data Source=${3:-$OUT/db/$name.db}"; else conn="$PG;Database=bench_${name//-/_}"; fi
  t0=$(now_ms)
  # shellcheck disable=SC2046
  start "$name" "$SERVER_CPU" "$PUB/TelemetryIngest" env $(service_env) Database__Provider="$provider" \
    ConnectionStrings__Telemetry="$conn" \
    Kestrel__Endpoints__Grpc__Url="http://127.0.0.1:$port" Kestrel__Endpoints__Management__Url="http://127.0.0.1:$mport" \
    Kestrel__Endpoints__Web__Url="http://127.0.0.1:$(free_port)" \
    dotnet Contoso.Retail.TelemetryIngest.dll
  URLS[$name]=http://127.0.0.1:$port; MGMT[$name]=http://127.0.0.1:$mport
  wait_serving "$name" "http://127.0.0.1:$port" "$t0"
}

# start_bench_server NAME PIPELINE DATA: bench/BenchServer (bare|full) x (sqlite|memory), same process settings.
start_bench_server() {
  local name=$1 pipeline=$2 data=$3 port mport t0
  port=$(free_port); mport=$(free_port)
  t0=$(now_ms)
  # shellcheck disable=SC2046
  start "$name" "$SERVER_CPU" bench/BenchServer/bin/Release/net10.0 env $(reference_env) \
    Bench__Pipeline="$pipeline" Bench__Data="$data" \
    ConnectionStrings__Inventory="Data Source=$OUT/db/$name.db" \
    Kestrel__Endpoints__Grpc__Url="http://127.0.0.1:$port" Kestrel__Endpoints__Grpc__Protocols=Http2 \
    Kestrel__Endpoints__Management__Url="http://127.0.0.1:$mport" Kestrel__Endpoints__Management__Protocols=Http1 \
    dotnet Contoso.Retail.BenchServer.dll
  URLS[$name]=http://127.0.0.1:$port
  wait_serving "$name" "http://127.0.0.1:$port" "$t0"
}

# wait_port NAME PORT: for the peers, which have no health service: until the port accepts connections.
wait_port() {
  local name=$1 port=$2 t0=$3
  for _ in $(seq 1 300); do
    if $PY -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1', $port)))"; then
      echo "$name listening after $(( $(now_ms) - t0 )) ms"; sleep 1; return 0
    fi
    sleep 0.1
  done
  echo "$name did not start; its log:"; tail -30 "$OUT/logs/$name.log"; exit 1
}

# unary LABEL URL [loadgen options...]: GetItem, closed loop, the standard unary load. The first run against a server
# is preceded by BENCH_PRIME seconds of unmeasured load: on one saturated core the JIT's background tier-up competes
# with the requests, and without this a server kept getting faster over its first ~30 s (the first repeat measured
# half of the third), which favoured whichever server was measured later.
declare -A PRIMED=()
unary() {
  local label=$1 url=$2; shift 2
  if [[ -z ${PRIMED[$url]:-} && $PRIME -gt 0 ]]; then
    lg run --scenario get-item --target "$url" --label "prime" --connections "$CONNECTIONS" --concurrency "$CONCURRENCY" \
      --warmup 0s --duration "${PRIME}s" --no-progress "$@" >/dev/null 2>&1 || true
    PRIMED[$url]=1
  fi
  lg run --scenario get-item --target "$url" --label "$label" --connections "$CONNECTIONS" --concurrency "$CONCURRENCY" \
    --warmup "${WARMUP}s" --duration "${DURATION}s" --no-progress --json "$OUT/results/$label.json" "$@" | tail -1 || true
}

GRPC_BODY=$OUT/getitem.bin
# h2load_get LABEL URL [AUTH_HEADER]: the same GetItem from h2load, after checking one call returns grpc-status 0
# (h2load counts HTTP 200s, and a gRPC error is an HTTP 200 too).
h2load_get() {
  local label=$1 url=$2 auth=${3:-} path=/inventory.v1.InventoryService/GetItem
  local headers=(-H 'content-type: application/grpc' -H 'te: trailers')
  [[ -n $auth ]] && headers+=(-H "authorization: Bearer $auth")
  if ! timeout 20 nghttp -v -n "${headers[@]}" -d "$GRPC_BODY" "$url$path" 2>&1 | grep -q 'grpc-status: 0'; then
    echo "h2load $label: a single call did not return grpc-status 0; skipped"; echo "not-ok" >"$OUT/results/$label.h2load"; return 0
  fi
  timeout $((WARMUP + DURATION + 30)) taskset -c "$CLIENT_CPU" h2load -t 1 -c "$CONNECTIONS" -m $((CONCURRENCY / CONNECTIONS)) \
    --warm-up-time="$WARMUP" -D "$DURATION" "${headers[@]}" -d "$GRPC_BODY" "$url$path" >"$OUT/results/$label.h2load" 2>&1 || true
  grep -E '^finished in' "$OUT/results/$label.h2load" | sed "s/^/h2load $label: /" || echo "h2load $label failed"
}

# h2load_run LABEL URL PATH BODY [AUTH]: h2load at 32 connections x 32 streams (the load the issue's figures used).
h2load_run() {
  local label=$1 url=$2 path=$3 body=$4 auth=${5:-}
  local headers=(-H 'content-type: application/grpc' -H 'te: trailers')
  [[ -n $auth ]] && headers+=(-H "authorization: Bearer $auth")
  if ! timeout 20 nghttp -v -n "${headers[@]}" -d "$body" "$url$path" 2>&1 | grep -q 'grpc-status: 0'; then
    echo "h2load $label: a single call did not return grpc-status 0; skipped"; echo "not-ok" >"$OUT/results/$label.h2load"; return 0
  fi
  timeout $((WARMUP + DURATION + 30)) taskset -c "$CLIENT_CPU" h2load -t 1 -c 32 -m 32 \
    --warm-up-time="$WARMUP" -D "$DURATION" "${headers[@]}" -d "$body" "$url$path" >"$OUT/results/$label.h2load" 2>&1 || true
  grep -E '^finished in' "$OUT/results/$label.h2load" | sed "s/^/h2load $label: /" || echo "h2load $label failed"
}

# h2load_rest LABEL URL PATH AUTH: the same GetItem as REST/JSON over HTTP/1.1 (64 connections, one request in
# flight each: HTTP/1.1 has no multiplexing), after checking one request answers 200 with the item.
h2load_rest() {
  local label=$1 url=$2 path=$3 auth=$4
  if ! timeout 20 curl -sf -H "authorization: Bearer $auth" "$url$path" | grep -q '"sku"'; then
    echo "h2load $label: a single request did not return the item; skipped"; echo "not-ok" >"$OUT/results/$label.h2load"; return 0
  fi
  timeout $((WARMUP + DURATION + 30)) taskset -c "$CLIENT_CPU" h2load --h1 -t 1 -c 64 -m 1 \
    --warm-up-time="$WARMUP" -D "$DURATION" -H "authorization: Bearer $auth" "$url$path" >"$OUT/results/$label.h2load" 2>&1 || true
  grep -E '^finished in' "$OUT/results/$label.h2load" | sed "s/^/h2load $label: /" || echo "h2load $label failed"
}

pg_ok() {
  [[ $SKIP_PG == 1 ]] && return 1
  PGPASSWORD=postgres timeout 10 psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1
}

pg_fresh() { # pg_fresh DB...: drops and recreates databases for this run
  local db
  for db in "$@"; do
    PGPASSWORD=postgres PGOPTIONS="-c client_min_messages=warning" psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
    PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE $db" >/dev/null
  done
}

# ---------------------------------------------------------------- prerequisites and builds
log "prerequisites"
need_apt=()
for pkg in nghttp2-client libgrpc++-dev protobuf-compiler protobuf-compiler-grpc python3-grpcio cmake g++ pkg-config; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if ((${#need_apt[@]})); then
  if [[ $INSTALL == 1 ]]; then
    echo "apt-get install ${need_apt[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "missing Debian packages (BENCH_INSTALL=0): ${need_apt[*]}; peers and h2load may be skipped"
  fi
fi
if [[ $SKIP_PEERS != 1 && ! -d bench/peers/node/node_modules/@grpc/grpc-js ]]; then
  if [[ $INSTALL == 1 ]]; then (cd bench/peers/node && npm ci --no-audit --no-fund --loglevel=error); fi
fi
if [[ $SKIP_PG != 1 ]] && ! pg_ok && command -v pg_ctlcluster >/dev/null; then
  pg_ctlcluster 15 main start 2>/dev/null || true
  sleep 2
fi

log "build (Release)"
for project in bench/LoadGen bench/BenchServer bench/Micro; do
  dotnet build "$project" -c Release -nologo -v q -clp:ErrorsOnly
done
for service in Inventory Orders TelemetryIngest; do
  dotnet publish "src/$service" -c Release -nologo -v q -clp:ErrorsOnly -o "$PUB/$service" \
    -r linux-x64 --self-contained false -p:PublishReadyToRun=true
done
# The reference every GetItem figure is held against: a plain `dotnet new grpc` Greeter, built as it comes.
# Outside the repository, so this solution's Directory.*.props (central versions, analyzers) stay out of it.
GREETER=$(mktemp -d /tmp/bench-greeter.XXXXXX)
dotnet new grpc -n Greeter -o "$GREETER" >/dev/null
dotnet build "$GREETER" -c Release -nologo -v q -clp:ErrorsOnly -p:NoWarn=NU1603
printf '\x00\x00\x00\x00\x07\x0a\x05world' >"$OUT/greeter.bin"
if [[ $SKIP_PEERS != 1 ]]; then
  mkdir -p "$OUT/python-gen" bench/peers/cpp/build
  GOOGLEAPIS=$(bash protos/googleapis-path)
  protoc -I protos -I "$GOOGLEAPIS" --python_out="$OUT/python-gen" --grpc_python_out="$OUT/python-gen" \
    --plugin=protoc-gen-grpc_python="$(command -v grpc_python_plugin)" inventory/v1/inventory.proto options/v1/options.proto \
    google/api/annotations.proto google/api/http.proto
  (cd bench/peers/cpp/build && cmake .. -DCMAKE_BUILD_TYPE=Release >/dev/null && make -j2 --no-print-directory 2>&1 | grep -Ev '^\[' || true)
  [[ -x bench/peers/cpp/build/inventory_peer ]] || { echo "C++ peer did not build"; exit 1; }
fi
lg grpc-body --sku KB-001 --out "$GRPC_BODY"
TOKEN=$(lg token)

# ---------------------------------------------------------------- machine
log "machine"
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "kernel: $(uname -r)"
  lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|Socket|L3|Hypervisor)' | sed 's/  */ /g'
  echo "memory: $(free -g | awk '/Mem:/ {print $2}') GiB"
  dotnet --info | sed -n 's/^ *\(Version\|Commit\|OS Name\|OS Version\|RID\): */\1: /p' | head -5 | sed 's/^/dotnet /'
  dotnet --list-runtimes | grep -E 'NETCore|AspNetCore' | tail -2
  echo "python: $($PY -c 'import grpc, sys; print(sys.version.split()[0], "grpcio", grpc.__version__)')"
  echo "node: $(node --version) grpc-js $(node -p "require('./bench/peers/node/node_modules/@grpc/grpc-js/package.json').version" 2>/dev/null)"
  echo "c++ grpc: $(dpkg-query -W -f='${Version}' libgrpc++-dev 2>/dev/null)"
  echo "h2load: $(h2load --version 2>/dev/null | head -1)"
  echo "postgresql: $(PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -Atqc 'show server_version' 2>/dev/null || echo unavailable)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "settings: prime ${PRIME}s duration ${DURATION}s warm-up ${WARMUP}s repeats $REPEATS (peers $PEER_REPEATS) connections $CONNECTIONS concurrency $CONCURRENCY server cpu $SERVER_CPU client cpu $CLIENT_CPU"
} | tee "$OUT/machine.txt"

# ---------------------------------------------------------------- scenario 5: startup, fresh and existing database
log "scenario 5: startup to SERVING and idle memory (SQLite; fresh database, then a restart on it)"
RECORD_STARTUP=1
for round in fresh existing; do
  start_inventory "inventory-$round" Sqlite "$OUT/db/startup-inventory.db"; stop "inventory-$round"
  start_orders "orders-$round" Sqlite http://127.0.0.1:9 "$OUT/db/startup-orders.db"; stop "orders-$round"
  start_telemetry "telemetry-$round" Sqlite "$OUT/db/startup-telemetry.db"; stop "telemetry-$round"
done
# The reference: the plain Greeter as `dotnet new grpc` builds and runs it (no runtime knob), until SayHello answers.
for round in first second; do
  p=$(free_port); t0=$(now_ms)
  start "greeter-$round" "$SERVER_CPU" "$GREETER/bin/Release/net10.0" env ASPNETCORE_URLS="http://127.0.0.1:$p" dotnet Greeter.dll
  wait_serving "greeter-$round" "http://127.0.0.1:$p" "$t0" --call greet.Greeter/SayHello; stop "greeter-$round"
done
RECORD_STARTUP=

# ---------------------------------------------------------------- scenario 0: GetItem vs a plain Greeter, same core
log "scenario 0: GetItem (full pipeline, SQLite) vs a plain dotnet new grpc Greeter, h2load 32 x 32"
start_inventory inventory-s0 Sqlite
p=$(free_port); t0=$(now_ms)
# shellcheck disable=SC2046
start greeter "$SERVER_CPU" "$GREETER/bin/Release/net10.0" env $(reference_env) ASPNETCORE_URLS="http://127.0.0.1:$p" \
  Logging__LogLevel__Default=Warning dotnet Greeter.dll
URLS[greeter]=http://127.0.0.1:$p; wait_port greeter "$p" "$t0"
if ((PRIME > 0)); then   # unmeasured load first, as for every GetItem server (see unary below)
  timeout $((PRIME + 20)) taskset -c "$CLIENT_CPU" h2load -t 1 -c 32 -m 32 -D "$PRIME" -H 'content-type: application/grpc' \
    -H 'te: trailers' -d "$OUT/greeter.bin" "${URLS[greeter]}/greet.Greeter/SayHello" >/dev/null 2>&1 || true
  timeout $((PRIME + 20)) taskset -c "$CLIENT_CPU" h2load -t 1 -c 32 -m 32 -D "$PRIME" -H 'content-type: application/grpc' \
    -H 'te: trailers' -H "authorization: Bearer $TOKEN" -d "$GRPC_BODY" "${URLS[inventory-s0]}/inventory.v1.InventoryService/GetItem" \
    >/dev/null 2>&1 || true
fi
for r in $(seq 1 "$REPEATS"); do
  if ((r % 2)); then order=(greeter inventory-s0); else order=(inventory-s0 greeter); fi
  for name in "${order[@]}"; do
    if [[ $name == greeter ]]; then
      h2load_run "s0-greeter-r$r" "${URLS[greeter]}" /greet.Greeter/SayHello "$OUT/greeter.bin"
      # Informational: the same Greeter sent GetItem's bearer token, which it ignores. h2load never indexes
      # `authorization`, so Kestrel Huffman-decodes it on every call before any application code runs.
      h2load_run "s0-greeter-token-r$r" "${URLS[greeter]}" /greet.Greeter/SayHello "$OUT/greeter.bin" "$TOKEN"
    else
      h2load_run "s0-getitem-r$r" "${URLS[inventory-s0]}" /inventory.v1.InventoryService/GetItem "$GRPC_BODY" "$TOKEN"
      h2load_rest "s0-rest-r$r" "${WEB[inventory-s0]}" /v1/items/KB-001 "$TOKEN"
    fi
  done
done
# Bytes the service allocates per GetItem (its own dotnet.gc.heap.total_allocated), over a fixed number of calls.
a0=$(metric inventory-s0 dotnet_gc_heap_total_allocated_bytes_total)
calls=$((QUICK == 1 ? 20000 : 100000))
timeout 120 taskset -c "$CLIENT_CPU" h2load -t 1 -c 4 -m 16 -n "$calls" -H 'content-type: application/grpc' -H 'te: trailers' \
  -H "authorization: Bearer $TOKEN" -d "$GRPC_BODY" "${URLS[inventory-s0]}/inventory.v1.InventoryService/GetItem" \
  >"$OUT/results/s0-alloc.h2load" 2>&1 || true
a1=$(metric inventory-s0 dotnet_gc_heap_total_allocated_bytes_total)
ok=$(sed -n 's/.* \([0-9]*\) succeeded.*/\1/p' "$OUT/results/s0-alloc.h2load")
if [[ -n $a0 && -n $a1 && ${ok:-0} -gt 0 ]]; then
  $PY -c "import json; print(json.dumps({'calls': $ok, 'bytesPerCall': round(($a1 - $a0) / $ok)}))" | tee "$OUT/results/s0-alloc.json"
fi
stop greeter; stop inventory-s0

# ---------------------------------------------------------------- scenario 1 (+4 WatchStock): full vs bare
log "scenario 1: GetItem, full pipeline vs bare grpc-dotnet (SQLite); startup and idle memory"
start_inventory inventory Sqlite
start_bench_server bare bare sqlite
# The full pipeline with the two tracing settings users can turn down (README, "Logging, tracing and metrics"):
# head sampling of 10% of new traces, and no database-command spans. Interleaved with the others in every repeat.
EXTRA_ENV="OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.1" start_inventory inventory-sampled Sqlite
EXTRA_ENV="Tracing__DatabaseCommands=false" start_inventory inventory-nodb Sqlite; EXTRA_ENV=""
declare -A S1_LABEL=([bare]=bare [inventory]=full [inventory-sampled]=sampled [inventory-nodb]=nodb)
for r in $(seq 1 "$REPEATS"); do
  if ((r % 2)); then order=(bare inventory inventory-sampled inventory-nodb); else order=(inventory-nodb inventory-sampled inventory bare); fi
  for name in "${order[@]}"; do
    auth=(); [[ $name != bare ]] && auth=(--dev-token)
    unary "s1-${S1_LABEL[$name]}-r$r" "${URLS[$name]}" "${auth[@]}" --server-pid "${PIDS[$name]}"
  done
done
stop inventory-sampled; stop inventory-nodb
# Informational: the same full pipeline told it has 2 CPUs (DOTNET_PROCESSOR_COUNT=2) while still pinned to one core.
if [[ ${BENCH_PC2:-1} == 1 ]]; then
  EXTRA_ENV="DOTNET_PROCESSOR_COUNT=2" start_inventory inventory-pc2 Sqlite; EXTRA_ENV=""
  unary s1-full-pc2 "${URLS[inventory-pc2]}" --dev-token --server-pid "${PIDS[inventory-pc2]}"
  stop inventory-pc2
fi
h2load_get s1-h2load-bare "${URLS[bare]}"
h2load_get s1-h2load-full "${URLS[inventory]}" "$TOKEN"

log "scenario 4: server streaming (WatchStock, 1000 items a stream)"
lg prepare --target "${URLS[inventory]}" --dev-token --watch-items 992 >/dev/null
lg prepare --target "${URLS[bare]}" --watch-items 992 >/dev/null
for name in bare inventory; do
  label=s4-watch-${name/inventory/full}
  extra=(); [[ $name == inventory ]] && extra=(--dev-token)
  lg run --scenario watch-stock --messages 1000 --target "${URLS[$name]}" --label "$label" --connections 1 --concurrency 8 \
    --warmup "${WARMUP}s" --duration "${DURATION}s" --no-progress --server-pid "${PIDS[$name]}" --json "$OUT/results/$label.json" "${extra[@]}" | tail -1 || true
done
stop bare; stop inventory

# ---------------------------------------------------------------- scenario 6: peers, all serving from memory
if [[ $SKIP_PEERS != 1 ]]; then
  log "scenario 6: GetItem on every stack, data in memory"
  start_bench_server bare-memory bare memory
  start_bench_server full-memory full memory
  p=$(free_port); t0=$(now_ms); start cpp "$SERVER_CPU" . bench/peers/cpp/build/inventory_peer "$p"; URLS[cpp]=http://127.0.0.1:$p; wait_port cpp "$p" "$t0"
  p=$(free_port); t0=$(now_ms); start node "$SERVER_CPU" . node bench/peers/node/server.js "$p" "$ROOT/protos"; URLS[node]=http://127.0.0.1:$p; wait_port node "$p" "$t0"
  p=$(free_port); t0=$(now_ms); start python "$SERVER_CPU" . "$PY" bench/peers/python/server.py "$p" "$OUT/python-gen"; URLS[python]=http://127.0.0.1:$p; wait_port python "$p" "$t0"
  peers=(cpp bare-memory full-memory node python)
  for r in $(seq 1 "$PEER_REPEATS"); do
    for name in "${peers[@]}"; do
      extra=(); [[ $name == full-memory ]] && extra=(--dev-token)
      unary "s6-$name-r$r" "${URLS[$name]}" --server-pid "${PIDS[$name]}" "${extra[@]}"
    done
  done
  for name in "${peers[@]}"; do
    auth=""; [[ $name == full-memory ]] && auth=$TOKEN
    h2load_get "s6-h2load-$name" "${URLS[$name]}" "$auth"
  done
  for name in "${peers[@]}"; do stop "$name"; done
fi

# ---------------------------------------------------------------- scenario 2: PlaceOrder end to end
# po_run LABEL SKUS CONNECTIONS CONCURRENCY [loadgen options]: one PlaceOrder measurement; records both services' CPU.
# Each is preceded by unmeasured load of the same shape until the JIT has settled (settle_jit).
po_run() {
  local label=$1 skus=$2 conns=$3 conc=$4; shift 4
  local c0 c1 t0 t1
  settle_jit "$label" "$skus" "$conns" "$conc" "$@"
  c0=$(cpu_ticks "${PIDS[orders-$tag]}" "${PIDS[inv-$tag]}"); t0=$(now_ms)
  lg run --scenario place-order --target "$orders_url" --dev-token --label "$label" --sku "$skus" --connections "$conns" \
    --concurrency "$conc" --warmup "${WARMUP}s" --duration "${DURATION}s" --no-progress --ledger "$OUT/results/$label.ledger.json" \
    --json "$OUT/results/$label.json" "$@" | tail -1 || true
  c1=$(cpu_ticks "${PIDS[orders-$tag]}" "${PIDS[inv-$tag]}"); t1=$(now_ms)
  # Both services' CPU over warm-up + measurement (they share core 0), as cores.
  $PY -c "print(round(($c1 - $c0) / $(getconf CLK_TCK) / (($t1 - $t0) / 1000), 3))" >"$OUT/results/$label.cores"
}
# settle_jit LABEL SKUS CONNECTIONS CONCURRENCY [loadgen options]: unmeasured PlaceOrder load of the next measurement's
# shape in 2 s steps, until both services together JIT-compile fewer than 50 methods in a step (at most SETTLE_STEPS);
# the steps taken go to LABEL.settle. Both services re-compile thousands of hot methods (tier 1) for a minute and more
# after they start, and a new load shape brings new ones (pool waits at 256 in flight); on their one shared core that
# compilation took up to a quarter of the CPU during a measurement that started 3 s after the shape changed (round 13).
# Its orders count in the ledger check like every other.
settle_jit() {
  local label=$1 skus=$2 conns=$3 conc=$4; shift 4
  local step before after
  for step in $(seq 1 "$SETTLE_STEPS"); do
    before=$(jit_methods); [[ -n $before ]] || break
    lg run --scenario place-order --target "$orders_url" --dev-token --label "$label-settle" --sku "$skus" --connections "$conns" \
      --concurrency "$conc" --warmup 0s --duration 2s --no-progress --ledger "$OUT/results/$label-settle$step.ledger.json" "$@" \
      >/dev/null 2>&1 || true
    after=$(jit_methods); [[ -n $after ]] || break
    echo "$step $((after - before))" >>"$OUT/results/$label.settle"
    if ((after - before < 50)); then break; fi
  done
  return 0
}
# jit_methods: methods both PlaceOrder services have JIT-compiled so far (their dotnet.jit.compiled_methods).
jit_methods() {
  local a b
  a=$(metric "orders-$tag" dotnet_jit_compiled_methods_total); b=$(metric "inv-$tag" dotnet_jit_compiled_methods_total)
  if [[ -n $a && -n $b ]]; then awk -v a="$a" -v b="$b" 'BEGIN {printf "%d\n", a + b}'; fi
}
cpu_ticks() { local total=0 pid; for pid in "$@"; do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done; echo "$total"; }

placeorder() { # placeorder PROVIDER: 32 SKUs at 4, 64 and 256 in flight, one hot SKU at 64, then half the best rate
  local provider=$1 best rate conc
  tag=$(echo "$provider" | tr '[:upper:]' '[:lower:]')
  start_inventory "inv-$tag" "$provider"
  inv_url=${URLS[inv-$tag]}
  start_orders "orders-$tag" "$provider" "$inv_url"
  orders_url=${URLS[orders-$tag]}
  local skus; skus=$(seq -s, -f 'BENCH-%g' 1 32)
  lg prepare --target "$inv_url" --dev-token --sku "$skus,HOT-1" --available 1000000000 >/dev/null
  # Unmeasured load first, as for the GetItem servers, but twice as long: two freshly started services share the core
  # and tier up together (measured without it, every row carried background JIT: at half the best rate on PostgreSQL
  # both services still used 0.95 of the core and p99 was 255 ms; a minute later the same rate took ~0.55 and p99 ~24).
  # Its orders count in the ledger check below like every other.
  if ((PRIME > 0)); then
    lg run --scenario place-order --target "$orders_url" --dev-token --label "s2-$tag-prime" --sku "$skus" --connections 2 \
      --concurrency 64 --warmup 0s --duration "$((PRIME * 2))s" --no-progress --ledger "$OUT/results/s2-$tag-prime.ledger.json" >/dev/null 2>&1 || true
  fi
  for conc in 4 64 256; do
    po_run "s2-$tag-c$conc" "$skus" $(( conc < 64 ? 1 : conc / 32 )) "$conc"
  done
  po_run "s2-$tag-hot-c64" HOT-1 2 64
  best=$($PY -c "import json; print(max(json.load(open('$OUT/results/s2-$tag-c%d.json' % c))['throughput'] for c in (4, 64, 256)))")
  rate=$($PY -c "print(max(1, round($best / 2)))")
  po_run "s2-$tag-half" "$skus" 2 64 --rate "$rate"
  # Every acknowledged order holds exactly its units, and nothing else is held.
  lg ledger --target "$inv_url" --dev-token --files "$(ls "$OUT"/results/s2-"$tag"-*.ledger.json | paste -sd,)" \
    | tee "$OUT/results/s2-$tag-ledger.txt" || true
  stop "orders-$tag"; stop "inv-$tag"
}
log "scenario 2: PlaceOrder (Orders -> Inventory -> database), SQLite"
placeorder Sqlite
if pg_ok; then
  log "scenario 2: PlaceOrder, PostgreSQL"
  pg_fresh bench_inv_postgres bench_orders_postgres
  placeorder Postgres
else
  echo "PostgreSQL unreachable (or BENCH_SKIP_PG=1): PostgreSQL variants skipped"
fi

# query_prime: PRIME seconds of unmeasured Query load first, as every GetItem server gets (the JIT's tier-up).
query_prime() {
  ((PRIME > 0)) || return 0
  lg run --scenario query --device bench-query --target "${URLS[telemetry]}" --dev-token --label s4-prime --connections 1 \
    --concurrency 8 --warmup 0s --duration "${PRIME}s" --no-progress >/dev/null || true
}

# ---------------------------------------------------------------- scenarios 3 and 4 (Query): telemetry on PostgreSQL
if pg_ok; then
  log "scenario 3: telemetry StreamIngest vs raw binary COPY (PostgreSQL), batch sizes"
  pg_fresh bench_telemetry
  start_telemetry telemetry Postgres
  # BATCH[xSTREAMS]: 4 streams (against 4 COPY connections) by default; 100-point batches also from 16, where the
  # service's group commit has more batches to share a transaction.
  for shape in 100 1000 5000 100x16; do
    batch=${shape%x*}; streams=4; suffix=""
    [[ $shape == *x* ]] && { streams=${shape#*x}; suffix="-c$streams"; }
    lg run --scenario stream-ingest --target "${URLS[telemetry]}" --dev-token --batch-size "$batch" --label "s3-ingest-$batch$suffix" \
      --connections 1 --concurrency "$streams" --warmup 1s --duration "${DURATION}s" --no-progress --server-pid "${PIDS[telemetry]}" \
      --json "$OUT/results/s3-ingest-$batch$suffix.json" | tail -1 || true
    lg run --scenario pg-copy --pg "$PG;Database=bench_telemetry" --batch-size "$batch" --label "s3-copy-$batch$suffix" \
      --concurrency "$streams" --warmup 1s --duration "${DURATION}s" --no-progress --json "$OUT/results/s3-copy-$batch$suffix.json" | tail -1 || true
  done

  log "scenario 4: server streaming (telemetry Query, 10,000 points = 20 messages a call)"
  lg prepare --target "${URLS[telemetry]}" --dev-token --device bench-query --points 10000 >/dev/null
  # Scenario 3 just bulk-loaded the table; statistics as autovacuum would soon have them, so the index is used. Then a
  # checkpoint, so the Query is not measured while PostgreSQL writes out scenario 3's ~0.5 GB of WAL-triggered
  # checkpoints (in one run it started 30 s before the Query and ran through it: 504,000 points/s against 671,000 an
  # hour earlier, with the service's core half idle).
  PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d bench_telemetry -q -c 'ANALYZE points' -c 'CHECKPOINT' >/dev/null
  query_prime
  lg run --scenario query --device bench-query --target "${URLS[telemetry]}" --dev-token --label s4-query --connections 1 --concurrency 8 \
    --warmup "${WARMUP}s" --duration "${DURATION}s" --no-progress --server-pid "${PIDS[telemetry]}" --json "$OUT/results/s4-query.json" | tail -1 || true
  stop telemetry
else
  log "scenario 3 skipped: PostgreSQL unreachable; scenario 4 Query on SQLite"
  start_telemetry telemetry Sqlite
  lg prepare --target "${URLS[telemetry]}" --dev-token --device bench-query --points 10000 >/dev/null
  query_prime
  lg run --scenario query --device bench-query --target "${URLS[telemetry]}" --dev-token --label s4-query --connections 1 --concurrency 8 \
    --warmup "${WARMUP}s" --duration "${DURATION}s" --no-progress --server-pid "${PIDS[telemetry]}" --json "$OUT/results/s4-query.json" | tail -1 || true
  stop telemetry
fi

# ---------------------------------------------------------------- micro-benchmarks
if [[ $SKIP_MICRO != 1 ]]; then
  log "micro-benchmarks (BenchmarkDotNet, in-process, ShortRun)"
  (cd "$OUT" && timeout 600 taskset -c "$SERVER_CPU" dotnet "$ROOT/bench/Micro/bin/Release/net10.0/Contoso.Retail.Micro.dll" \
    --filter '*' --artifacts "$OUT/micro" >"$OUT/logs/micro.log" 2>&1) || echo "micro-benchmarks failed; see $OUT/logs/micro.log"
fi

# ---------------------------------------------------------------- report
log "report"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"
echo "total time: $(( $(date +%s) - SCRIPT_START )) s" >>"$OUT/machine.txt"
$PY bench/report.py "$OUT" "$DOC"
echo "wrote $DOC (raw results in ${OUT#"$ROOT"/})"
tail -1 "$DOC"
