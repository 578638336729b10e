#!/usr/bin/env bash
# Regenerate the lock files from pyproject.toml (exact versions of everything installed):
#   cpu.txt   CPU build of torch (no CUDA wheels): the embedded default, CI, laptops
#   cuda.txt  PyPI's CUDA build of torch with its nvidia-* wheels: GPU nodes
# Both lock the `dev` and `test` extras (tests, snakemake, `transformers serve` for the
# real-server teacher tests) for CPython 3.11 on x86_64 Linux, with torch
# held at TORCH (the version the tests run). Needs uv (pip install uv==0.13.9); the CPU
# lock reads torch's metadata from a local wheel (--find-links, default /opt/wheels) or
# from the PyTorch CPU index. After a change, mirror the pins into envs/*.yaml
# (tests/test_envs.py checks that they agree).
set -euo pipefail
cd "$(dirname "$0")"
TORCH="${TORCH:-2.13.0}"
FIND_LINKS="${FIND_LINKS:-/opt/wheels}"
common=(../pyproject.toml --extra dev --extra test --python-version 3.11
        --python-platform x86_64-unknown-linux-gnu --no-header --quiet)
if compgen -G "$FIND_LINKS/torch-$TORCH+cpu-*" >/dev/null; then
  cpu_src=(--find-links "$FIND_LINKS")
else
  cpu_src=(--extra-index-url https://download.pytorch.org/whl/cpu --index-strategy unsafe-best-match)
fi
uv pip compile "${common[@]}" "${cpu_src[@]}" -c <(echo "torch==$TORCH+cpu") -o cpu.txt
uv pip compile "${common[@]}" -c <(echo "torch==$TORCH") -o cuda.txt
for f in cpu.txt cuda.txt; do
  sed -i "1i # Locked by requirements/lock.sh (uv $(uv --version | cut -d' ' -f2)); do not edit by hand." "$f"
done
