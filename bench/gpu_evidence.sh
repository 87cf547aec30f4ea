#!/usr/bin/env bash
# Issue 12's GPU evidence, in two parts that each fit one 10-minute device call.
#
#   bash bench/gpu_evidence.sh runs     WORK PACK   # our three groups (3 seeds each), the airbench94 peer (3 seeds),
#                                                   # then bench/record.py: WORK/results/summary.json
#   bash bench/gpu_evidence.sh notebook WORK PACK   # the notebook executed on the full data (24 epochs, batch 512),
#                                                   # its figures in WORK/images/, and a profile of one GPU-path epoch
#
# What a part made is packed into PACK/PART.tgz (the device tool brings back 8 files at
# most), its log into PACK/PART.log. Inputs, carried in the git-ignored .carry/: the archive
# (cifar10-jpeg.tar.gz), the wheels (../shared/tools/offline-wheels.sh .carry/whl --notebook)
# and COMMIT (`git rev-parse HEAD > .carry/COMMIT`: the GPU machine has no git history).
#
# Environment, for a dry run on the CPU (tests/test_bench.py does one on the tiny fixture):
#   S11_DATA  data path (default .carry/cifar10-jpeg.tar.gz)
#   S11_ARGS  extra train flags for our runs; S11_SEEDS seeds per group (default 3)
#   S11_NOTEBOOK_ENV  extra environment for the notebook (S11_SMOKE=1 for a dry run)
#   S11_PROFILE_ARGS  extra flags for bench/profile_epoch.py
set -uo pipefail
part=${1:?part: runs or notebook}
work=${2:?work folder}
pack=${3:?pack folder}
python=${PYTHON:-python3}
data=${S11_DATA:-.carry/cifar10-jpeg.tar.gz}
seeds=${S11_SEEDS:-3}
mkdir -p "$work" "$pack"
log="$pack/$part.log"
exec > >(tee "$log") 2>&1
if ! "$python" -c "import albumentations, torch_lr_finder, pytorch_grad_cam" 2>/dev/null; then
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .carry/whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD PYTHONUNBUFFERED=1 NO_ALBUMENTATIONS_UPDATE=1 PYTHON=$python
date -u
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
status=0
case $part in
  runs)
    mkdir -p "$work/runs"
    cp .carry/COMMIT "$work/runs/COMMIT" 2>/dev/null || echo "no .carry/COMMIT: summary.json will have no commit"
    S11_FIXED=1 bash bench/gpu_full.sh "$work/runs" "$seeds" | tee "$work/gpu_full.log" || status=1
    if "$python" -c "import torch, sys; sys.exit(not torch.cuda.is_available())"; then
      t0=$SECONDS
      "$python" bench/airbench_peer.py --data "$data" --seeds "$seeds" --out "$work/runs/peer-airbench94" || status=1
      echo "== peer-airbench94: whole command $((SECONDS - t0)) s"
      rm -rf "$work/runs/peer-airbench94/cifar10"  # the exported data: 180 MB, not a result
    else
      echo "== peer-airbench94: skipped, airbench94 runs on CUDA only"
    fi
    find "$work/runs" -name checkpoint.pt -delete  # 26 MB each; the metrics and histories are the record
    "$python" bench/record.py "$work/runs" "$work/results" --log "$work/gpu_full.log" || status=1
    made=(runs results gpu_full.log)
    ;;
  notebook)
    t0=$SECONDS
    env S11_DATA="$data" S11_FIGURES="$work/images" ${S11_NOTEBOOK_ENV:-} \
      "$python" bench/execute_notebook.py "$work/S11_SuperConvergence.ipynb" || status=1
    echo "== notebook: whole command $((SECONDS - t0)) s"
    read -r -a profile_args <<< "${S11_PROFILE_ARGS:-}"
    "$python" bench/profile_epoch.py --data "$data" "${profile_args[@]}" | tee "$work/profile.txt" || status=1
    made=(S11_SuperConvergence.ipynb images profile.txt)
    ;;
  *) echo "unknown part $part: runs or notebook"; exit 2 ;;
esac
tar -C "$work" -czf "$pack/$part.tgz" "${made[@]}" && echo "packed $(du -h "$pack/$part.tgz" | cut -f1) into $pack/$part.tgz"
echo "== $part: status $status"
exit $status
