#!/usr/bin/env bash
# Nightly corpus expansion on one machine: replay yesterday's log, then leave the report for review.
# Operators diff and promote by hand: bidirag diff production epoch-N && bidirag promote epoch-N --reason ...
# Result: runs/nightly-<day>.json, one JSON document also when the replay fails (status, error, exit_code); logs
# and progress go to stderr (the journal). Exit status: bidirag's (1: an epoch failed, nothing of it committed).
set -euo pipefail
cd "${BIDIRAG_HOME:-/opt/bidirag}"
day=$(date -u -d yesterday +%F)
out="runs/nightly-$day.json"
mkdir -p runs
status=0
.venv/bin/bidirag replay --config configs/default.yaml ${BIDIRAG_EXTRA_CONFIG:+--config "$BIDIRAG_EXTRA_CONFIG"} \
  --log "${BIDIRAG_LOG_DIR:-/var/log/queries}/$day" \
  --since "${day}T00:00:00Z" --until "$(date -u +%F)T00:00:00Z" \
  --epoch-size "${BIDIRAG_EPOCH_SIZE:-2000}" --quiet --json > "$out.tmp" || status=$?
if [ ! -s "$out.tmp" ]; then   # killed, or refused its arguments: still a JSON document
  printf '{"status": "error", "error": "bidirag replay exited %d without a result; see its log", "exit_code": %d}\n' \
    "$status" "$status" > "$out.tmp"
fi
mv "$out.tmp" "$out"
cat "$out"
exit "$status"
