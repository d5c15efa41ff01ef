#!/usr/bin/env bash
# What compose watch's `rebuild` runs, natively: after FILE changes, the Dockerfile's cargo
# step for each service whose watch paths include it, one after another.
set -euo pipefail
tree=$1; file=$2; shift 2
cd "$tree"
for i in 1 2 3; do
  echo "// edit $i" >> "$file"
  t0=$(date +%s.%N)
  for package in "$@"; do
    cargo build -q --release --locked --package "$package" --bin "$package"
  done
  t1=$(date +%s.%N)
  echo "$file run $i: $(echo "$t1 - $t0" | bc) s for $*"
done
git checkout -- "$file"
