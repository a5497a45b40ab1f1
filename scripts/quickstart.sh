#!/usr/bin/env bash
# One command from a fresh clone: install, build the model bundles, serve the API and show a real answer.
# QUICKSTART_EXIT=1 stops the server after the demo requests (used to time this script).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/setup.sh
PORT="${NLP_PORT:-8000}"
.venv/bin/nlpserve serve --port "$PORT" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  kill -0 $SERVER 2>/dev/null || { echo "server exited; see the log above" >&2; exit 1; }
  sleep 0.5
done
demo() {
  echo "\$ curl -s http://127.0.0.1:$PORT/v1/$1 -H 'content-type: application/json' -d '$2'"
  curl -sS "http://127.0.0.1:$PORT/v1/$1" -H 'content-type: application/json' -d "$2"
  echo; echo
}
echo
demo sentiment '{"inputs": ["I love this movie", "This was a terrible waste of time"]}'
demo classify '{"inputs": "connect me to a person"}'
demo redact '{"inputs": "Call Jane at 415-555-0100 or mail jane.doe@example.com"}'
demo entities '{"inputs": "Northwind Bank opened an office in Lagos on Monday, hiring 40 engineers for $2 million."}'
demo language '{"inputs": ["Wo ist mein Paket?", "Where is my parcel?"]}'
echo "ready in $(( $(date +%s) - start ))s: API on http://127.0.0.1:$PORT (OpenAPI docs at /docs). Ctrl-C stops it." >&2
if [ "${QUICKSTART_EXIT:-0}" = "1" ]; then exit 0; fi
wait $SERVER
