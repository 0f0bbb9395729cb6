#!/usr/bin/env bash
# Sets everything up and runs the demo: the local collector, a two-service Flask shop under
# `sw-python run`, a few requests, and the traces the collector received.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate

GRPC=${DEMO_GRPC_PORT:-11800}
HTTP=${DEMO_HTTP_PORT:-12800}
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened"; exit 1; }

echo "==> local collector (gRPC $GRPC, HTTP $HTTP)"
sw-python collector --grpc "127.0.0.1:$GRPC" --http "127.0.0.1:$HTTP" > /tmp/sw-demo-collector.log 2>&1 &
pids+=($!)
wait_port "$HTTP"

export SW_AGENT_COLLECTOR_BACKEND_SERVICES="127.0.0.1:$GRPC"
echo "==> provider and consumer under sw-python run"
SW_AGENT_NAME=inventory PORT=9091 sw-python run python examples/demo/provider.py > /tmp/sw-demo-provider.log 2>&1 &
pids+=($!)
SW_AGENT_NAME=shop PORT=9090 PROVIDER_PORT=9091 sw-python run python examples/demo/consumer.py > /tmp/sw-demo-consumer.log 2>&1 &
pids+=($!)
wait_port 9091
wait_port 9090

echo "==> requests"
for item in book lamp unicorn; do
  printf '  GET /buy/%s -> ' "$item"; python -c "
import urllib.request, urllib.error, sys
try:
    r = urllib.request.urlopen('http://127.0.0.1:9090/buy/$item', timeout=10); print(r.status, r.read().decode().strip())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode().strip())"
done
sleep 2

echo "==> traces in the local collector (also at http://127.0.0.1:$HTTP/api/traces)"
python examples/demo/show_traces.py "http://127.0.0.1:$HTTP"
echo
echo "The same traces, with waterfalls and span details, are on the collector's web page while"
echo "it runs: start it with 'sw-python collector' and open http://127.0.0.1:12800/ ."
