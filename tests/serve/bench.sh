#!/bin/sh
# Throughput of `tick serve` (not a test): aggregate generated tok/s with
# 1, 2, 4, 8 concurrent streams, and time to first token under that load
# (the server's own measure: timings.prompt_ms of each stream's last chunk,
# queueing + prefill + the first sampled token). Needs curl and jq.
#   tests/serve/bench.sh [MODEL] [THREADS] [TOKENS]
# MODEL defaults to the stories110M-shape Q8_0 model of `tick synth`.
set -e
M=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/tick/models/stories110m-q8_0.gguf}
T=${2:-2}
N=${3:-64}
[ -f "$M" ] || ./tick synth stories110m --type q8_0 -o "$M"
command -v jq >/dev/null || { echo "bench: needs jq"; exit 1; }
D=$(mktemp -d)
./tick serve -m "$M" --port 0 --slots 8 -t "$T" -c 512 2>"$D/log" &
P=$!
trap 'kill $P 2>/dev/null; rm -rf "$D"' EXIT
for i in $(seq 200); do grep -q ready: "$D/log" && break; sleep 0.1; done
PORT=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$D/log")
one() { # $1: client number; greedy, distinct prompts, all N tokens (ignore_eos-like: max_tokens with a random model)
  curl -s -N -d "{\"prompt\":\"Client $1 says: once upon a time\",\"max_tokens\":$N,\"temperature\":0,\"stream\":true,\"stream_options\":{\"include_usage\":true}}" \
    "http://127.0.0.1:$PORT/v1/completions" | grep '"usage":{' | sed 's/^data: //' > "$D/c$1.json"
}
one 0 # warm-up
printf '%-8s %10s %12s %10s %12s %12s\n' streams tokens "wall s" "tok/s" "x 1 stream" "TTFT ms avg"
base=
for C in 1 2 4 8; do
  t0=$(date +%s.%N)
  pids=
  for i in $(seq $C); do one $i & pids="$pids $!"; done
  wait $pids # not plain wait: the server is a child too
  t1=$(date +%s.%N)
  tok=$(cat "$D"/c[1-9].json 2>/dev/null | head -n $C | jq -s 'map(.usage.completion_tokens) | add')
  ttft=$(cat "$D"/c[1-9].json | head -n $C | jq -s 'map(.timings.prompt_ms) | add / length')
  rm -f "$D"/c[1-9].json
  tps=$(echo "$tok / ($t1 - $t0)" | bc -l)
  [ -z "$base" ] && base=$tps
  printf '%-8s %10s %12.2f %10.1f %12.2f %12.0f\n' $C $tok $(echo "$t1 - $t0" | bc -l) $tps $(echo "$tps / $base" | bc -l) $ttft
done
