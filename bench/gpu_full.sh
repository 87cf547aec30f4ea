#!/usr/bin/env bash
# The full 24-epoch job on a GPU (issue 4, benchmark c): both data paths ("gpu" first, it is
# the quick one), three seeds each, on the offline JPEG copy of CIFAR-10, with every output.
# Prints the per-run lines and a summary table; copy them into bench/RESULTS.md.
#
#   bash bench/gpu_full.sh OUTDIR [SEEDS...]
#
# Expects the offline wheels in .carry/whl (../shared/tools/offline-wheels.sh .carry/whl) and
# the archive at .carry/cifar10-jpeg.tar.gz, both git-ignored, carried to the GPU machine.
set -uo pipefail
out=${1:-runs/gpu}
shift || true
seeds=${*:-1 2 3}
mkdir -p "$out"
if ! python3 -c "import albumentations, torch_lr_finder, pytorch_grad_cam" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .carry/whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD PYTHONUNBUFFERED=1 NO_ALBUMENTATIONS_UPDATE=1
export TQDM_DISABLE=1  # torch-lr-finder draws a bar of its own; the per-epoch lines still print
date -u
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c "import torch, albumentations; print('torch', torch.__version__, 'albumentations', albumentations.__version__, 'cpus', __import__('os').cpu_count())"
data=.carry/cifar10-jpeg.tar.gz
for augment in gpu albumentations; do
  for seed in $seeds; do
    echo "== python -m s11lib train --data $data --augment $augment --seed $seed --no-progress --out $out/$augment-seed$seed"
    python3 -m s11lib train --data "$data" --augment "$augment" --seed "$seed" --no-progress --out "$out/$augment-seed$seed"
  done
done
if [ -n "${S11_COMPILE:-}" ]; then  # one more: the GPU path under torch.compile, if it pays
  echo "== python -m s11lib train --data $data --augment gpu --compile --seed 1 --no-progress --out $out/gpu-compile-seed1"
  python3 -m s11lib train --data "$data" --augment gpu --compile --seed 1 --no-progress --out "$out/gpu-compile-seed1"
fi
python3 bench/summarize.py "$out"
