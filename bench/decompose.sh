#!/usr/bin/env bash
# What each ServiceDefaults piece costs on GetItem with in-memory data: bench/BenchServer variants on core 0,
# h2load on core 1, interleaved rounds; prints req/s and the server's CPU microseconds per request.
#   bench/decompose.sh [ROUNDS=3] [SECONDS=6]      (after bench/run.sh or a Release build of bench/)
# Variants: bare (AddGrpc only), bare-token (the same server, sent the bearer token the others need: what decoding that
# header costs before any of our code runs; h2load never indexes `authorization`, so Kestrel Huffman-decodes it on every
# call), full (AddServiceDefaults), no-telemetry, no-serilog, interceptors (auth, interceptors, health, lifetime:
# neither Serilog nor OpenTelemetry).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${1:-3}; SECONDS_EACH=${2:-6}
OUT=$(mktemp -d)
KEY=$(sed -n 's/.*DevelopmentKey = "\(.*\)";/\1/p' "$ROOT/src/Contracts/Auth/DevTokens.cs")
LG=(dotnet "$ROOT/bench/LoadGen/bin/Release/net10.0/Contoso.Retail.LoadGen.dll")
TOKEN=$("${LG[@]}" token)
"${LG[@]}" grpc-body --out "$OUT/body.bin"
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

variants=(bare bare-token full no-telemetry no-serilog interceptors)
declare -A SETTINGS=([bare]="Bench__Pipeline=bare" [bare-token]="Bench__Pipeline=bare" [full]="Bench__Pipeline=full"
  [no-telemetry]="Bench__Pipeline=full Bench__Without=telemetry" [no-serilog]="Bench__Pipeline=full Bench__Without=logging"
  [interceptors]="Bench__Pipeline=full Bench__Without=logging,telemetry")
declare -A PORT=() PID=()
trap 'for v in "${!PID[@]}"; do kill "${PID[$v]}" 2>/dev/null || true; done; rm -rf "$OUT"' EXIT

cd "$ROOT/bench/BenchServer/bin/Release/net10.0"
for v in "${variants[@]}"; do
  PORT[$v]=$(free_port); management=$(free_port)
  # shellcheck disable=SC2086
  setsid taskset -c 0 env ASPNETCORE_ENVIRONMENT=Test Auth__DevSigningKey="$KEY" Shutdown__DrainDelay=00:00:00 Bench__Data=memory \
    ${SETTINGS[$v]} Kestrel__Endpoints__Grpc__Url="http://127.0.0.1:${PORT[$v]}" Kestrel__Endpoints__Grpc__Protocols=Http2 \
    Kestrel__Endpoints__Management__Url="http://127.0.0.1:$management" Kestrel__Endpoints__Management__Protocols=Http1 \
    dotnet Contoso.Retail.BenchServer.dll >"$OUT/$v.log" 2>&1 &
  PID[$v]=$!
done
for v in "${variants[@]}"; do "${LG[@]}" wait-serving --target "http://127.0.0.1:${PORT[$v]}" >/dev/null; done

printf '%-6s %-14s %10s %12s %8s\n' round variant "req/s" "cpu us/req" loadavg
for r in $(seq 1 "$ROUNDS"); do
  for v in "${variants[@]}"; do
    headers=(-H 'content-type: application/grpc' -H 'te: trailers')
    [[ $v != bare ]] && headers+=(-H "authorization: Bearer $TOKEN")
    before=$(awk '{print $14 + $15}' "/proc/${PID[$v]}/stat")
    rps=$(taskset -c 1 h2load -t 1 -c 4 -m 16 -D "$SECONDS_EACH" "${headers[@]}" -d "$OUT/body.bin" \
      "http://127.0.0.1:${PORT[$v]}/inventory.v1.InventoryService/GetItem" 2>&1 | sed -n 's/^finished in [0-9.]*s, \([0-9.]*\) req\/s.*/\1/p')
    after=$(awk '{print $14 + $15}' "/proc/${PID[$v]}/stat")
    # clock ticks are 10 ms; requests = rps x measured seconds
    printf '%-6s %-14s %10.0f %12.1f %8s\n' "$r" "$v" "$rps" "$(echo "$after $before $rps $SECONDS_EACH" | awk '{print ($1-$2)*10000/($3*$4)}')" \
      "$(cut -d' ' -f1 /proc/loadavg)"
  done
done
