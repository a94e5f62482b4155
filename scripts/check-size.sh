#!/usr/bin/env bash
# The browser app's download budget: the release .wasm + JS glue + CSS, each gzip -9, at most
# 225 KiB together (160 before two-factor login and passkeys, 180 before email addresses and
# self-service recovery, 200 before signing in to other apps). Prints each figure; fails over
# budget.
set -euo pipefail
cd "$(dirname "$0")/.."

BUDGET=$((225 * 1024))
total=0
shopt -s nullglob
files=(dist/*.wasm dist/*.js dist/*.css)
[ ${#files[@]} -ge 3 ] || { echo "dist/ lacks the built app: run scripts/build-web.sh"; exit 1; }
printf '%-48s %10s %10s\n' file bytes gzip-9
for f in "${files[@]}"; do
    raw=$(stat -c %s "$f")
    gz=$(gzip -9c "$f" | wc -c)
    total=$((total + gz))
    printf '%-48s %10d %10d\n' "$f" "$raw" "$gz"
done
printf 'total gzip -9: %d bytes (%d.%d KiB) of %d KiB budget\n' \
    "$total" $((total / 1024)) $(((total % 1024) * 10 / 1024)) $((BUDGET / 1024))
if [ "$total" -gt "$BUDGET" ]; then
    echo "over the size budget"
    exit 1
fi
