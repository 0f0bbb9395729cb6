#!/usr/bin/env bash
# Sets everything up and runs the demo: the local collector, a two-service Flask shop under
# `sw-python run`, a few requests, and the traces, logs and meters the collector received.
# It then keeps the collector and the shop running, with the collector's page address
# printed, until Ctrl-C; `--exit` stops everything at once instead (for scripts and CI).
set -euo pipefail
cd "$(dirname "$0")/.."

stay=1
for arg in "$@"; do
  case "$arg" in
    --exit) stay=0 ;;
    -h|--help) echo "usage: bash scripts/demo.sh [--exit]"; exit 0 ;;
    *) echo "unknown argument: $arg (usage: bash scripts/demo.sh [--exit])"; exit 2 ;;
  esac
done

bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate

GRPC=${DEMO_GRPC_PORT:-11800}
HTTP=${DEMO_HTTP_PORT:-12800}
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT
trap 'echo; echo "==> stopping"; exit 0' INT TERM

wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened"; exit 1; }

echo "==> local collector (gRPC $GRPC, HTTP $HTTP)"
sw-python collector --grpc "127.0.0.1:$GRPC" --http "127.0.0.1:$HTTP" > /tmp/sw-demo-collector.log 2>&1 &
pids+=($!)
wait_port "$HTTP"

export SW_AGENT_COLLECTOR_BACKEND_SERVICES="127.0.0.1:$GRPC"
# Meters every 2 seconds, so the page's plots fill while you look.
export SW_AGENT_METER_REPORTER_PERIOD=2
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
echo "==> the shop's own log lines, with the trace id of each request"
grep -E "sold|out of stock" /tmp/sw-demo-consumer.log | sed 's/^/  /' || true
echo
if [ "$stay" = 0 ]; then
  exit 0
fi
echo "The collector's page shows these traces, each with its logs, and each instance's meters"
echo "plotted over time:"
echo
echo "    http://127.0.0.1:$HTTP/"
echo
echo "Everything keeps running until Ctrl-C (run with --exit to stop at once)."
# Returns when the collector exits, or at once on Ctrl-C (the INT trap).
wait "${pids[0]}"
