#!/usr/bin/env bash
# The full-size CPU runs side by side on the same pixels, one after another, each resumable:
#   peer      airbench94 by its own code on the CPU, fp32, seeds 1-3 (bench/airbench_peer.py --device cpu)
#   page      Page's schedule in our code: LR 0 -> 0.4 at the end of epoch 5 -> 0 at epoch 24, seed 1
#   default   our recipe with the notebook's defaults (LRs found, --precision auto), seed 2 (seed 3 is the notebook's)
#   step      He et al.'s step schedule at LR 0.1, 24 epochs, seed 1
#   notebook  the notebook executed on the full data with its defaults and S11_SEED=3, its paths relative (the
#             committed notebook's outputs, and our recipe's third seed): DATA linked as
#             ../shared/data/cifar10-jpeg.tar.gz beside the clone, its run directory runs/notebook inside the
#             clone, the executed copy WORK/executed-N.ipynb
#
#   bash bench/side_by_side.sh WORK DATA [STEP ...]     (run from a clone pinned at one commit)
#
# WORK is the folder every run writes into (keep it outside the clone); DATA the CIFAR-10 source
# (`--data`). With no STEP, the first four in the order above. Run the same command again after an
# interruption: a finished step is skipped, a run with a checkpoint continues from its last epoch,
# a peer seed with a record is kept. Each start and end goes to WORK/starts.txt, each step's output
# to WORK/log-STEP.txt. Everything runs at nice 19.
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: bash bench/side_by_side.sh WORK DATA [peer|page|default|step|notebook ...]" >&2; exit 2; }
work=$(realpath -m "$1"); data=$(realpath -m "$2"); shift 2
steps=("${@:-peer page default step}")
read -r -a steps <<< "${steps[*]}"
clone=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$work"
export NO_ALBUMENTATIONS_UPDATE=1 TQDM_DISABLE=1 OMP_WAIT_POLICY=PASSIVE PYTHONPATH="$clone"
cd "$clone" || exit 1
commit=$(git rev-parse --short HEAD)
note() { echo "$1 $(date -u +%FT%TZ) $2" >> "$work/starts.txt"; }

train() {  # NAME ARGS...: train into WORK/NAME, or continue it from its checkpoint, unless it finished
  local name=$1; shift
  if [ -f "$work/$name/metrics.json" ]; then echo "$name: finished before"; return 0; fi
  if [ -f "$work/$name/checkpoint.pt" ]; then
    nice -n 19 python -m s11lib train --resume "$work/$name"
  else
    nice -n 19 python -m s11lib train --data "$data" --out "$work/$name" "$@"
  fi
}

notebook() {  # the notebook top to bottom; run again, it reads its range test back and continues its try
  local copy="$clone/../shared/data/cifar10-jpeg.tar.gz" n
  [ -e "$copy" ] || { mkdir -p "$(dirname "$copy")" && ln -s "$data" "$copy"; }
  n=$(( $(grep -c '^start .* notebook ' "$work/starts.txt") ))
  S11_DATA=../shared/data/cifar10-jpeg.tar.gz S11_RUN=runs/notebook S11_SEED=3 \
    nice -n 19 python bench/execute_notebook.py "$work/executed-$n.ipynb" &
  local child=$!
  for _ in $(seq 120); do  # the kernel starts in a session of its own: put its group at nice 19 too
    sleep 5
    for pid in $(pgrep -f ipykernel_launcher); do echo 19 > "/proc/$pid/autogroup" 2>/dev/null; done
    pgrep -f ipykernel_launcher > /dev/null && break
  done
  wait $child
}

for step in "${steps[@]}"; do
  note start "$step at $commit on $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
  case $step in
    peer) nice -n 19 python bench/airbench_peer.py --data "$data" --device cpu --seeds 3 --out "$work/peer-airbench94" ;;
    page) train page --min-lr 0 --max-lr 0.4 --seed 1 ;;
    default) train default/seed-2 --seed 2 ;;
    step) train step --schedule step --max-lr 0.1 --min-lr 0.001 --seed 1 ;;
    notebook) notebook ;;
    *) echo "unknown step $step: peer, page, default, step or notebook" >&2; note end "$step: unknown"; exit 2 ;;
  esac >> "$work/log-$step.txt" 2>&1
  rc=$?
  note end "$step: exit $rc"
  [ $rc -eq 0 ] || exit $rc
done
