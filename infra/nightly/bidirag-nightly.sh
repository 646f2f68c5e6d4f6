#!/usr/bin/env bash
# Nightly corpus expansion on one machine: replay one day's log, then leave the report for review.
#   bidirag-nightly.sh                    # the logical date is yesterday (UTC)
#   bidirag-nightly.sh --date 2026-12-01  # re-run a missed night (or BIDIRAG_DATE=2026-12-01); a finished night
#                                         # re-run does nothing, an interrupted one resumes
# Operators diff and promote by hand: bidirag diff production epoch-N && bidirag promote epoch-N --reason ...
# Result: runs/nightly-<day>.json, one JSON document also when the replay fails (status, error, exit_code); logs
# and progress go to stderr (the journal). Exit status: bidirag's (1: an epoch failed, nothing of it committed).
set -euo pipefail
day="${BIDIRAG_DATE:-}"
if [[ "${1:-}" == "--date" ]]; then day="${2:?--date needs YYYY-MM-DD}"; shift 2; fi
if [[ $# -gt 0 ]]; then echo "usage: $0 [--date YYYY-MM-DD]" >&2; exit 2; fi
day="${day:-$(date -u -d yesterday +%F)}"
cd "${BIDIRAG_HOME:-/opt/bidirag}"
out="runs/nightly-$day.json"
mkdir -p runs
status=0
.venv/bin/bidirag replay --config configs/default.yaml ${BIDIRAG_EXTRA_CONFIG:+--config "$BIDIRAG_EXTRA_CONFIG"} \
  --log "${BIDIRAG_LOG_DIR:-/var/log/queries}/$day" --date "$day" \
  --epoch-size "${BIDIRAG_EPOCH_SIZE:-2000}" --quiet --json > "$out.tmp" || status=$?
if [ ! -s "$out.tmp" ]; then   # killed, or refused its arguments: still a JSON document
  printf '{"status": "error", "error": "bidirag replay exited %d without a result; see its log", "exit_code": %d}\n' \
    "$status" "$status" > "$out.tmp"
fi
mv "$out.tmp" "$out"
cat "$out"
exit "$status"
