#!/usr/bin/env bash
# CPU time (user + sys) and wall time of getting ready for the day, on a fresh clone with an
# empty target directory (BENCHMARKS.md, "Preparing for the day").
#
#   preparation-cost.sh new REPO DIR OUT [REV]   chapter 00's preparation (`cargo fetch`, then
#       `workshop prepare`), then the first run of the day's commands that build: branches,
#       chapter 08's build-platform, check 0, doctor, fault list, up, up --solution
#   preparation-cost.sh old REPO DIR OUT REV     the sequence before it (52f9f87): `cargo
#       build --workspace`, then the first `workshop branches`, then the first `workshop up`
#
# Each command's time is appended to OUT (`name user sys wall`), then the load average and
# how many `Compiling` lines each command printed. `up` runs on port 5100 until it serves,
# then gets Ctrl-C (SIGINT to the workshop process that this script started).
set -u
mode=$1; src=$2; dir=$3; out=$4; rev=${5:-HEAD}
T='%U %S %e'

# The first `workshop up` (with ARGS), stopped once it serves.
up_once() {
  local name=$1; shift
  /usr/bin/time -f "$name $T" -a -o "$out" cargo run -p workshop -- up --port 5100 "$@" \
    > "$out.$name.log" 2>&1 &
  local timer=$! workshop
  for _ in $(seq 1 900); do
    curl -sf http://127.0.0.1:5100/healthz > /dev/null 2>&1 && break
    kill -0 "$timer" 2> /dev/null || break
    sleep 1
  done
  sleep 2
  # `cargo run` replaces itself with the program on Unix: the workshop is time's child.
  workshop=$(pgrep -P "$timer" -f 'debug/workshop up')
  [ -n "$workshop" ] && kill -INT "$workshop"
  wait "$timer"
}

timed() {
  local name=$1; shift
  /usr/bin/time -f "$name $T" -a -o "$out" "$@" > "$out.$name.log" 2>&1
}

rm -rf "$dir"
git clone -q "$src" "$dir"
cd "$dir" || exit 1
git checkout -q -B main "$rev"
cargo fetch -q
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out"
case $mode in
  new)
    timed prepare cargo run -p workshop -- prepare
    timed branches cargo run -p workshop -- branches
    # build-platform refuses `--help` (exit 2) at once: only its compile is timed.
    timed build-platform cargo run -p platform-live --bin build-platform -- --help
    timed check-0 cargo run -p workshop -- check 0
    timed doctor cargo run -p workshop -- doctor
    timed fault-list cargo run -p workshop -- fault list
    up_once up
    up_once up-solution --solution
    ;;
  old)
    timed prepare cargo build --workspace
    timed branches cargo run -p workshop -- branches
    up_once up
    ;;
esac
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out"
grep -c Compiling "$out".*.log >> "$out"
