#!/usr/bin/env bash
# Nightly corpus expansion on one machine: replay yesterday's log, then leave the report for review.
# Operators diff and promote by hand: bidirag diff production epoch-N && bidirag promote epoch-N --reason ...
set -euo pipefail
cd "${BIDIRAG_HOME:-/opt/bidirag}"
day=$(date -u -d yesterday +%F)
.venv/bin/bidirag replay --config configs/default.yaml ${BIDIRAG_EXTRA_CONFIG:+--config "$BIDIRAG_EXTRA_CONFIG"} \
  --log "${BIDIRAG_LOG_DIR:-/var/log/queries}/$day" \
  --since "${day}T00:00:00Z" --until "$(date -u +%F)T00:00:00Z" \
  --epoch-size "${BIDIRAG_EPOCH_SIZE:-2000}" --quiet | tee "runs/nightly-$day.json"
