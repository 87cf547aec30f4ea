#!/usr/bin/env bash
# Are requirements.txt's lower bounds true? The suite in a fresh virtualenv at the lowest versions
# they allow (uv's --resolution lowest-direct: every package we name at its lower bound, what they
# pull in at its newest that fits) and in one at the newest of everything, on each Python given.
# Prints a table, and keeps each environment's freeze and pytest log in OUT. Not part of .ci/run:
# it downloads several GB (torch and its CUDA libraries, twice) and runs the suite per environment.
#
#   bash bench/check_bounds.sh [OUT]        # OUT defaults to bench/results/bounds-<date>
#   PYTHONS="3.12 3.11" MODES="lowest newest" bash bench/check_bounds.sh
#
# Needs uv (`pip install uv`) and a python3.X on PATH for each Python named (pyenv's here).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/results/bounds-$(date -u +%F)}
read -r -a pythons <<< "${PYTHONS:-3.12 3.11}"
read -r -a modes <<< "${MODES:-lowest newest}"
mkdir -p "$out"
command -v uv >/dev/null || { echo "error: needs uv (pip install uv)" >&2; exit 2; }
commit=$(git rev-parse --short HEAD)
# The suite runs on a clean clone of HEAD (with ../shared beside it, as in CI): edits in this
# checkout while it runs change nothing, and the table's commit is the code that ran.
src=$(mktemp -d)/s11
git clone -q . "$src" && ln -s "$(cd .. && pwd)/shared" "$(dirname "$src")/shared"
rows=()
for py in "${pythons[@]}"; do
  for mode in "${modes[@]}"; do
    name=py$py-$mode
    venv=${TMPDIR:-/tmp}/s11-bounds-$name
    resolution=$([ "$mode" = lowest ] && echo lowest-direct || echo highest)
    rm -rf "$venv"
    echo "== $name: installing (--resolution $resolution)"
    t0=$SECONDS
    interpreter=
    for candidate in "$(pyenv root 2>/dev/null)/versions/$py"*/bin/python"$py" "$(command -v "python$py")"; do
      "$candidate" -c '' 2>/dev/null && { interpreter=$candidate; break; }  # a pyenv shim may name a Python it won't run
    done
    [ -n "$interpreter" ] || { rows+=("| $py | $mode | no working python$py | | |"); continue; }
    if ! { uv venv -q --no-python-downloads -p "$interpreter" "$venv" && uv pip install -q -p "$venv/bin/python" --resolution "$resolution" \
           -r "$src/requirements-dev.txt"; } > "$out/$name-install.log" 2>&1; then
      rows+=("| $py | $mode | install failed: $(grep -m1 -iE 'error|no solution' "$out/$name-install.log" | cut -c1-160) | | |")
      continue
    fi
    uv pip freeze -p "$venv/bin/python" > "$out/$name-freeze.txt"
    versions=$(grep -iE '^(torch|torchvision|numpy|matplotlib|pillow|albumentations|torch-lr-finder|grad-cam|ray|jupyter|ipykernel|nbclient)==' \
               "$out/$name-freeze.txt" | tr '\n' ' ')
    echo "== $name: $versions(installed in $((SECONDS - t0)) s); running the suite"
    t0=$SECONDS
    (cd "$src" && CI=true "$venv/bin/python" -m pytest -q -p no:cacheprovider tests) > "$out/$name-pytest.log" 2>&1
    rc=$?
    result=$(grep -E '[0-9]+ (passed|failed)' "$out/$name-pytest.log" | tail -1)
    rows+=("| $py | $mode | $versions | $result (exit $rc, $((SECONDS - t0)) s) | $(grep -c 'warnings summary' "$out/$name-pytest.log") |")
  done
done
{
  echo "check_bounds.sh at commit $commit, $(date -u +%F), $(uname -m), $(nproc) cores"
  echo
  echo "| Python | resolution | versions | suite | \"warnings summary\" in the log |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} | tee "$out/table.md"
