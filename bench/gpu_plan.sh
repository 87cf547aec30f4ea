#!/usr/bin/env bash
# The GPU evidence in ONE device call that cannot lose its results.
#
#   bash bench/gpu_plan.sh OUT          # on the GPU machine: OUT is the device tool's $OUT
#
# Prepare it here first (bench/prepare_gpu.sh): .carry/ then holds the archive, the wheels,
# COMMIT, and the check that the GPU image meets every lower bound. Steps, the essentials
# first, each under its own timeout; the moment a step has finished, its result is in OUT
# (at most 8 files come back, so each step packs into one .tgz):
#
#   step            writes into OUT                 expected s (H200)   limit s
#   install+decode  -                                 ~25                 150
#   gpu             gpu.tgz, summary.json             ~90                 200
#   sweep           sweep.tgz                         ~170                240
#   sweep-short     sweep.tgz                         ~55                 100
#   peer            peer.tgz, summary.json            ~35                 120
#   notebook        notebook.tgz                      ~90                 240
#   fp16            more.tgz, summary.json            ~25                 90
#   albumentations  more.tgz, summary.json            ~200                300
#   profile         more.tgz                          ~30                 90
#
# sweep: LRMAX 0.1, 0.2, 0.4 and 0.8 for one-cycle and step at 24 epochs, plus the found pair
# (9 runs of ~15 s training and ~3 s more each, the range test once); sweep-short: one cycle and
# step at Page's 0.4 and one cycle at the found pair, for 6 and 12 epochs, into the same sweep
# (6 short runs). 0.4 is
# in the grid, so the old gpu-fixed group (0.004 / 0.4) is a sweep point now. fp16: one 24-epoch
# run with --precision fp16, the grad-scaler path Colab's T4 takes (--precision auto picks fp16
# there), which no GPU has run.
#
# log.txt (everything printed) is written as it goes. Every step also ends by the deadline
# (S11_DEADLINE, 560 s after the start, inside a device call of timeout_s 590), leaving time to
# pack: a step with less than 20 s left is skipped, a longer one is cut short and its finished
# seeds are packed. The 600 s of one call reach about the end of albumentations: what runs
# short is dropped from the end (the profile first). bench/RESULTS.md section 4 says where the
# expected seconds come from.
#
# Environment, for a CPU dry run (tests/test_bench.py kills one halfway):
#   S11_DATA    the archive (default .carry/cifar10-jpeg.tar.gz); S11_SEEDS seeds per group (3)
#   S11_SWEEP_LRS the sweep's LRMAX (default 0.1 0.2 0.4 0.8)
#   S11_ARGS    extra train flags (tiny settings); S11_NOTEBOOK_ENV extra notebook environment
#   S11_PROFILE_ARGS extra flags for bench/profile_epoch.py; S11_WORK scratch folder
set -uo pipefail
out=${1:?OUT folder}
work=${S11_WORK:-/tmp/s11-gpu}
python=${PYTHON:-python3}
archive=${S11_DATA:-.carry/cifar10-jpeg.tar.gz}
seeds=${S11_SEEDS:-3}
deadline=${S11_DEADLINE:-560}
read -r -a extra <<< "${S11_ARGS:-}"
read -r -a sweep_lrs <<< "${S11_SWEEP_LRS:-0.1 0.2 0.4 0.8}"
read -r -a profile_args <<< "${S11_PROFILE_ARGS:-}"
mkdir -p "$out" "$work/runs"
exec > >(tee -a "$out/log.txt") 2>&1

step() {  # step NAME LIMIT COMMAND...: under its own timeout; '== NAME: exit E, whole command S s' (record.py reads it)
  local name=$1 limit=$2 t0=$SECONDS rc left; shift 2
  left=$((deadline - SECONDS))
  if [ "$left" -lt 20 ]; then echo "== $name: skipped, ${left} s left before the deadline" >&2; return 124; fi
  [ "$limit" -gt "$left" ] && limit=$left
  echo "== $name: start, limit ${limit} s, $(date -u +%T)" >&2  # stderr: a step's stdout may go to a file
  timeout --kill-after=10 "$limit" "$@"
  rc=$?
  echo "== $name: exit $rc, whole command $((SECONDS - t0)) s" >&2
  return $rc
}
pack() {  # pack FILE PATH...: those PATHs under the work folder that exist into OUT/FILE, whole or not at all
  local file=$1 path found=(); shift
  for path in "$@"; do [ -e "$work/$path" ] && found+=("$path"); done
  [ ${#found[@]} -gt 0 ] || return 0
  tar -C "$work" --exclude=checkpoint.pt -czf "$work/$file" "${found[@]}" && mv "$work/$file" "$out/$file"
}
record() {  # summary.json of every group so far
  "$python" bench/record.py gpu "$work/runs" "$work/results" --log "$out/log.txt" >/dev/null \
    && cp "$work/results/summary.json" "$out/summary.json"
}
group() {  # group NAME LIMIT FLAGS...: SEEDS seeds of the whole job on the decoded data, then the record
  local name=$1 limit=$2; shift 2
  step "$name" "$limit" "$python" -m s11lib train --data "$data" --seed 1 --repeat "$seeds" --no-progress \
    --out "$work/runs/$name" "$@" "${extra[@]}"
  [ -d "$work/runs/$name" ] && record
}

# install+decode: the carried wheels, always (no guess from a few imports); the archive decoded once
if compgen -G ".carry/whl/*.whl" >/dev/null; then
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .carry/whl/*.whl \
    || echo "== install: the carried wheels did not install (they are for Python 3.12; elsewhere the packages must be there)"
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD PYTHONUNBUFFERED=1 NO_ALBUMENTATIONS_UPDATE=1 TQDM_DISABLE=1
export S11_NO_INSTALL=1  # the notebook must not try pip without internet: it stops and names what is missing
date -u
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
cp .carry/COMMIT "$work/runs/COMMIT" 2>/dev/null || echo "no .carry/COMMIT: summary.json will have no commit"
data=$work/decoded/cifar-10-batches-py
step decode 150 "$python" bench/decode.py --data "$archive" --out "$work/decoded" || data=$archive

group gpu 200 --augment gpu
pack gpu.tgz runs/gpu
step sweep 240 "$python" -m s11lib sweep --data "$data" --augment gpu --no-progress --max-lr "${sweep_lrs[@]}" \
  --schedule one-cycle step --epochs 24 --out "$work/runs/sweep" "${extra[@]}"
pack sweep.tgz runs/sweep
step sweep-short 100 "$python" -m s11lib sweep --data "$data" --augment gpu --no-progress --max-lr 0.4 \
  --schedule one-cycle step --epochs 6 12 --out "$work/runs/sweep" "${extra[@]}"
pack sweep.tgz runs/sweep
if "$python" -c "import torch, sys; sys.exit(not torch.cuda.is_available())"; then
  step peer-airbench94 120 "$python" bench/airbench_peer.py --data "$data" --seeds "$seeds" --out "$work/runs/peer-airbench94"
  rm -rf "$work/runs/peer-airbench94/cifar10"  # the exported pixels: 180 MB, not a result
  [ -d "$work/runs/peer-airbench94" ] && record
  pack peer.tgz runs/peer-airbench94
else
  echo "== peer-airbench94: skipped, airbench94 runs on CUDA only"
fi
step notebook 240 env S11_DATA="$data" S11_RUN="$work/runs/notebook" ${S11_NOTEBOOK_ENV:-} \
  "$python" bench/execute_notebook.py "$work/S11_SuperConvergence.ipynb"
pack notebook.tgz S11_SuperConvergence.ipynb runs/notebook
seeds=1 group fp16 90 --augment gpu --precision fp16  # one seed: bash keeps the assignment to this call
pack more.tgz runs/fp16
group albumentations 300 --augment albumentations
pack more.tgz runs/fp16 runs/albumentations
step profile 90 "$python" bench/profile_epoch.py --data "$data" "${profile_args[@]}" > "$work/profile.tmp" \
  && mv "$work/profile.tmp" "$work/profile.txt" && cat "$work/profile.txt"
pack more.tgz runs/fp16 runs/albumentations profile.txt
echo "== plan: done $(date -u +%T)"
