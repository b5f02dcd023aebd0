#!/usr/bin/env bash
# Outputs benchmark, loopback only, bounded in time (see docs/benchmarks.md, section "Outputs").
#  1. Re-host a 200 MB output: gateway peak RSS above idle, and time from upstream completion to `completed`,
#     against curl downloading the same output straight from the simulator (baseline, same run).
#  2. Serve a re-hosted 100 MB output to 8 concurrent clients (wrk) through its signed link, against nginx serving
#     the very same stored file from disk (baseline, same run, rounds interleaved); gateway peak RSS above idle.
# Usage: bench/outputs/run.sh [seconds-per-wrk-round, default 15]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DURATION=${1:-15}
WORK=$(mktemp -d /tmp/kgw-bench-outputs.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
# Resets the kernel's peak-RSS mark so VmHWM covers only what follows.
reset_peak() { echo 5 > "/proc/$1/clear_refs"; }
wait_http() { for _ in $(seq 1 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

echo "building Release..." >&2
dotnet build -c Release "$ROOT/src/KimaraGateway" -v quiet -nologo >/dev/null

SIM_PORT=$(free_port); GW_PORT=$(free_port); NGINX_PORT=$(free_port)
SIM="http://127.0.0.1:$SIM_PORT"; GW="http://127.0.0.1:$GW_PORT"
KEY=bench-key-$RANDOM$RANDOM
KEY_HASH=$(printf '%s' "$KEY" | sha256sum | cut -d' ' -f1)

(cd "$ROOT/src/Kimara.Simulator/bin/Release/net10.0" && \
  ASPNETCORE_URLS=$SIM Logging__LogLevel__Default=Warning Simulator__ApiKey=sim-bench-key \
  Simulator__QueuedSeconds=0 Simulator__RunningSeconds=1 Simulator__OutputBytes=209715200 \
  exec dotnet Kimara.Simulator.dll >"$WORK/sim.log" 2>&1) &
PIDS+=($!)
wait_http "$SIM/_sim/counters"

(cd "$ROOT/src/KimaraGateway/bin/Release/net10.0" && \
  ASPNETCORE_ENVIRONMENT=Production ASPNETCORE_URLS=$GW Serilog__MinimumLevel__Default=Warning \
  Kimara__BaseUrl=$SIM Kimara__ApiKey=sim-bench-key \
  Auth__ApiKeys__0__CallerId=bench Auth__ApiKeys__0__KeyHash=$KEY_HASH \
  Outputs__AllowedHosts__0=127.0.0.1 Outputs__InsecureHttpHosts__0=127.0.0.1 Outputs__AllowedNetworks__0=127.0.0.1/32 \
  Outputs__Links__SigningKey=bench-link-key-0123456789abcdef0123456789 Outputs__FileSystem__Root="$WORK/outputs" \
  exec env ${GATEWAY_EXTRA_ENV:-} dotnet KimaraGateway.dll >"$WORK/gateway.log" 2>&1) &
GW_PID=$!; PIDS+=($GW_PID)
wait_http "$GW/runs"

auth=(-H "Authorization: Bearer $KEY")
submit() {
  curl -sf "${auth[@]}" -H 'Content-Type: application/json' -d "{\"app_id\":\"text-to-image\",\"inputs\":{\"prompt\":\"$1\"}}" "$GW/runs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}
wait_done() {
  for _ in $(seq 1 600); do
    body=$(curl -sf "${auth[@]}" "$GW/runs/$1")
    status=$(printf '%s' "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
    if [ "$status" = completed ] || [ "$status" = failed ]; then printf '%s' "$body"; return 0; fi
    sleep 0.1
  done
  echo "run $1 did not finish" >&2; exit 1
}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
# Upstream completion = gateway created_at (written just before the POST) + the simulator's queued + running time (1 s).
lag_seconds() { python3 -c "
import json,sys,datetime as d
r=json.loads(sys.argv[1]); p=lambda s: d.datetime.fromisoformat(s.replace('Z','+00:00'))
print(round((p(r['completed_at'])-p(r['created_at'])).total_seconds()-1.0,2))" "$1"; }

# Warm-up: one small run through the whole path (JIT, pools), then idle.
curl -sf -X PUT -H 'Content-Type: application/json' -d '{"output_bytes":100000}' "$SIM/_sim/options" >/dev/null
warm=$(submit warmup); wait_done "$warm" >/dev/null
curl -sf "${auth[@]}" -o /dev/null "$GW/runs/$warm/output"
sleep 2
IDLE=$(rss_kb "$GW_PID")
echo "gateway idle RSS (after start and one small run): $((IDLE/1024)) MB"

echo "== re-host 200 MB =="
curl -sf -X PUT -H 'Content-Type: application/json' -d '{"output_bytes":209715200}' "$SIM/_sim/options" >/dev/null
reset_peak "$GW_PID"
big=$(submit "rehost 200 MB")
run=$(wait_done "$big")
peak=$(hwm_kb "$GW_PID")
echo "status=$(printf '%s' "$run" | field "['status']") bytes=$(printf '%s' "$run" | field "['output']['bytes']")"
echo "gateway peak RSS while re-hosting: $((peak/1024)) MB, $(((peak-IDLE)/1024)) MB above idle"
echo "upstream completion -> completed: $(lag_seconds "$run") s (includes up to one poll interval, 2 s)"
# Baseline: the same 200 MB straight from the simulator with curl (a fresh reference run, so its link is new).
ref=$(curl -sf -H 'Authorization: Bearer sim-bench-key' -H 'Content-Type: application/json' -d '{"app_id":"text-to-image","inputs":{"prompt":"curl baseline"}}' "$SIM/runs" | field "['id']")
sleep 1.2
url=$(curl -sf -H 'Authorization: Bearer sim-bench-key' "$SIM/runs/$ref" | field "['output_url']")
curl -sf -o "$WORK/baseline.bin" -w 'curl straight from the simulator to disk: %{time_total} s, %{size_download} bytes\n' "$url"
rm -f "$WORK/baseline.bin"

echo "== serve 100 MB to 8 clients =="
curl -sf -X PUT -H 'Content-Type: application/json' -d '{"output_bytes":104857600}' "$SIM/_sim/options" >/dev/null
mid=$(submit "serve 100 MB")
run=$(wait_done "$mid")
link=$(printf '%s' "$run" | field "['output_url']")
file=$(find "$WORK/outputs" -name "$mid" -type f)
echo "stored: $file ($(stat -c %s "$file") bytes); upstream completion -> completed: $(lag_seconds "$run") s"

mkdir -p "$WORK/nginx/logs" "$WORK/www"
ln "$file" "$WORK/www/output.png"
# nginx workers run as nobody: let them read the file (mktemp made the folder private).
chmod a+rx "$WORK" "$WORK/www"; chmod a+r "$file"
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  server { listen 127.0.0.1:$NGINX_PORT; root $WORK/www; }
}
CONF
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" -g 'daemon off;' &
PIDS+=($!)
wait_http "http://127.0.0.1:$NGINX_PORT/output.png"

throughput() {
  out=$(wrk -t2 -c8 -d"${DURATION}s" "$1")
  if printf '%s' "$out" | grep -q 'Non-2xx'; then echo "non-2xx answers from $1" >&2; exit 1; fi
  printf '%s' "$out" | awk '/Transfer\/sec/ {print $2}'
}
to_mb() { python3 -c "
import re,sys; n,u=re.match(r'([\d.]+)(\w+)',sys.argv[1]).groups(); print(round(float(n)*{'KB':1/1024,'MB':1,'GB':1024}[u],1))" "$1"; }
reset_peak "$GW_PID"
# Warm-up of both servers (JIT tiering of the serving path, page cache), not measured.
wrk -t2 -c8 -d3s "$link" >/dev/null; wrk -t2 -c8 -d3s "http://127.0.0.1:$NGINX_PORT/output.png" >/dev/null; sleep 1
results=()
for round in 1 2 3; do
  n=$(to_mb "$(throughput "http://127.0.0.1:$NGINX_PORT/output.png")")
  g=$(to_mb "$(throughput "$link")")
  echo "round $round: nginx=${n} MB/s gateway=${g} MB/s ratio=$(python3 -c "print(round($g/$n,2))")"
  results+=("$n $g")
done
peak=$(hwm_kb "$GW_PID")
printf '%s\n' "${results[@]}" | python3 -c "
import sys; r=[tuple(map(float,l.split())) for l in sys.stdin if l.strip()]
n=sum(a for a,_ in r)/len(r); g=sum(b for _,b in r)/len(r)
print(f'mean: nginx={n:.1f} MB/s gateway={g:.1f} MB/s ratio={g/n:.2f}')"
echo "gateway peak RSS while serving (warm-up included): $((peak/1024)) MB, $(((peak-IDLE)/1024)) MB above idle"
