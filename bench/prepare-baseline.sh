#!/usr/bin/env bash
# Build an older checkout of this repository for the burst section's baseline run:
#   bench/prepare-baseline.sh [REV] [DIR]
# clones this repository into DIR (default /tmp/sluice-baseline), checks out REV (default
# 001f135, the commit before the envelope / in-memory journal window work), installs it from
# its own lockfile and builds it; then prints the line that points the bench at it.
set -euo pipefail

rev="${1:-001f135}"
dir="${2:-/tmp/sluice-baseline}"
repo="$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)"

if [[ -e "$dir" ]]; then
  echo "$dir already exists: remove it or name another directory" >&2
  exit 1
fi

git clone --quiet --no-checkout "$repo" "$dir"
git -C "$dir" checkout --quiet --detach "$rev"
dir="$(cd "$dir" && pwd)"
echo "checked out $(git -C "$dir" log -1 --format='%h %s' | cut -c1-100) in $dir" >&2

(cd "$dir" && npm ci --no-audit --no-fund && npm run build)

if [[ ! -f "$dir/dist/bench/ingest/engine-server.js" ]]; then
  echo "the build of $rev has no dist/bench/ingest/engine-server.js: the burst bench cannot start it" >&2
  exit 1
fi

echo "baseline ready; run the burst section with:" >&2
echo "export BENCH_BASELINE_DIR=$dir"
