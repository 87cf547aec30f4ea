#!/usr/bin/env bash
# Here, before a device call: fill the git-ignored .carry/ that bench/gpu_plan.sh reads there
# (the archive, the wheels the image lacks, COMMIT) and check the GPU image against every
# lower bound. Then, with the device tool: run(command="bash bench/gpu_plan.sh $OUT",
# carry=[".carry"], timeout_s=590).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .carry
cp ../shared/data/cifar10-jpeg.tar.gz .carry/
[ -d .carry/whl ] || bash ../shared/tools/offline-wheels.sh .carry/whl --notebook
git rev-parse HEAD > .carry/COMMIT
python3 bench/check_gpu_image.py .carry/whl
du -sh .carry
