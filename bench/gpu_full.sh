#!/usr/bin/env bash
# The full 24-epoch job on a GPU (issue 4, benchmark c): both data paths ("gpu" first, it is
# the quick one), N seeds each via --repeat (data read once per path), on the offline JPEG
# copy of CIFAR-10, with every output; then a summary table to copy into bench/RESULTS.md.
#
#   bash bench/gpu_full.sh OUTDIR [N_SEEDS]        # seeds 1..N_SEEDS, default 3
#
# Environment:
#   S11_DATA     data path (default .carry/cifar10-jpeg.tar.gz)
#   S11_ARGS     extra train flags, e.g. a CPU dry run of this script:
#                S11_DATA=../shared/data/cifar10-jpeg.tar.gz S11_ARGS="--subset 500 --epochs 2 --peak-epoch 1 \
#                  --batch-size 50 --device cpu --finder-iters 10" bash bench/gpu_full.sh /tmp/dry 2
#   S11_FIXED=1  also the GPU path with Page's LRs fixed (--min-lr 0.004 --max-lr 0.4)
#   S11_COMPILE=1  also one GPU-path run under torch.compile
#
# On the GPU machine it expects the offline wheels in .carry/whl (../shared/tools/offline-wheels.sh
# .carry/whl) and the archive in .carry/, both git-ignored and carried there.
set -uo pipefail
python=${PYTHON:-python3}  # the interpreter to run (the tests pass their own)
out=${1:-runs/gpu}
n=${2:-3}
data=${S11_DATA:-.carry/cifar10-jpeg.tar.gz}
read -r -a extra <<< "${S11_ARGS:-}"
mkdir -p "$out"
if ! "$python" -c "import albumentations, torch_lr_finder, pytorch_grad_cam" 2>/dev/null; then
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .carry/whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD PYTHONUNBUFFERED=1 NO_ALBUMENTATIONS_UPDATE=1
export TQDM_DISABLE=1  # torch-lr-finder draws a bar of its own; the per-epoch lines still print
date -u
git log -1 --format='commit %h %s' 2>/dev/null
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
"$python" -c "import torch, albumentations; print('torch', torch.__version__, 'albumentations', albumentations.__version__, 'cpus', __import__('os').cpu_count())"

train() {  # train NAME FLAGS...: N seeds into OUT/NAME/seed-S, timed
  local name=$1; shift
  echo "== python -m s11lib train --data $data --seed 1 --repeat $n --no-progress --out $out/$name $* ${extra[*]}"
  local t0=$SECONDS
  "$python" -m s11lib train --data "$data" --seed 1 --repeat "$n" --no-progress --out "$out/$name" "$@" "${extra[@]}"
  echo "== $name: exit $?, whole command $((SECONDS - t0)) s"
}
train gpu --augment gpu
train albumentations --augment albumentations
if [ -n "${S11_FIXED:-}" ]; then train gpu-fixed --augment gpu --min-lr 0.004 --max-lr 0.4; fi
if [ -n "${S11_COMPILE:-}" ]; then n=1 train gpu-compile --augment gpu --compile; fi
"$python" bench/summarize.py "$out"
