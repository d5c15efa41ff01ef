#!/usr/bin/env bash
# Time from saving a file to the new code serving, natively with `workshop up`: change FILE,
# start `up` (what an attendee does after Ctrl-C), and wait until the page answers.
set -uo pipefail
tree=$1; file=$2; workshop=$3; port=${4:-7100}
cd "$tree"
pid=
up() { "$workshop" up --port "$port" > /tmp/up.out 2> /tmp/up.err & pid=$!; }
serving() {
  for _ in $(seq 1 6000); do
    grep -q "is running" /tmp/up.out 2>/dev/null && curl -sf "http://127.0.0.1:$port/" > /dev/null && return 0
    sleep 0.05
  done
  return 1
}
stop() { kill -INT "$pid"; wait "$pid"; }
up; serving; stop
for i in 1 2 3; do
  echo "// edit $i" >> "$file"
  t0=$(date +%s.%N); up; serving; t1=$(date +%s.%N); stop
  echo "$file run $i: $(echo "$t1 - $t0" | bc) s"
done
git checkout -- "$file"
