#!/usr/bin/env bash
# Runs every benchmark under benchmarks/, one at a time (they time things, so never two at once),
# logs each to work_dirs/benchmarks/<name>.log, and ends with a summary: per benchmark its exit
# status, wall time and the lines that carry its ratios (speed) or headline figures (quality).
# A fast method's generator ratio needs a few hundred images: with a handful, worker start-up
# dominates (16 SynthSeg images: 2.0; 128: 1.17; 256: 1.09, measured here).
#   bash benchmarks/run_all.sh           # all of them: speed ratios + map quality (about 40 min)
#   bash benchmarks/run_all.sh --quick   # speed ratios only, at small sizes (a few minutes)
# Python: $PYTHON, else the repository's .venv (tools/install.sh), else python on PATH.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python
QUICK=0
case "${1:-}" in
  --quick) QUICK=1 ;;
  "") ;;
  *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac
LOGS=work_dirs/benchmarks
mkdir -p "$LOGS"

if [ "$QUICK" = 1 ]; then
  RUNS=(
    "agbp_overhead --steps 5 --img-size 96"
    "anomaly_maps --methods kead --num-images 8 --repeats 1 --threads 1"
    "anomaly_maps --methods weights-free --num-images 128 --repeats 2 --threads 1"
    "pseudo_boxes --counts 300 --repeat 1"
    "finetune_throughput --epochs 3 --batches 3 --repeat 1"
  )
else
  RUNS=(
    "agbp_overhead"
    "anomaly_maps --methods kead --threads 1"
    "anomaly_maps --methods weights-free --num-images 256 --threads 1"
    "pseudo_boxes"
    "finetune_throughput --epochs 5 --family cspdarknet swin"
    "magnetic_tile_maps"
    "magnetic_tile_maps --contaminated"
    "neu_det_maps"
    "pseudo_box_thresholds"
  )
fi

SUMMARY=()
FAILED=0
for run in "${RUNS[@]}"; do
  read -r name args <<< "$run"
  log="$LOGS/${name}${args:+_$(echo "$args" | tr -c 'a-z0-9\n' '_' | tr -s '_')}.log"
  echo "== benchmarks/$name.py $args  (log: $log)"
  start=$(date +%s)
  # shellcheck disable=SC2086
  "$PY" "benchmarks/$name.py" $args 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  took=$(( $(date +%s) - start ))
  [ "$status" = 0 ] || FAILED=1
  lines=$(grep -E '\bratio\b|goal|ceiling| ok$|^\| *(mean|pooled|per source)' "$log" || true)
  SUMMARY+=("== $name $args: exit $status, ${took} s"$'\n'"$lines")
done

echo
echo "######## summary ########"
printf '%s\n' "${SUMMARY[@]}"
exit $FAILED
