#!/usr/bin/env bash
# Regenerate the lock files from pyproject.toml (exact versions of everything installed):
#   cpu.txt    CPU build of torch (no CUDA wheels): the embedded default, CI, laptops
#   cuda.txt   PyPI's CUDA build of torch with its nvidia-* wheels: GPU nodes
#   slurm.txt  the extra `slurm` (snakemake-executor-plugin-slurm) and only what it adds to
#              cpu.txt / cuda.txt, at their versions: the login node of a SLURM cluster and
#              the SLURM test (`pip install -r requirements/cpu.txt -r requirements/slurm.txt`)
# cpu.txt and cuda.txt lock the `dev` and `test` extras (tests, snakemake, `transformers serve`
# for the real-server teacher tests) for CPython 3.11 on x86_64
# Linux, with torch held at TORCH (the version the tests run); the SLURM plugin stays out of
# them, so local runs never load it. Needs uv (pip install uv==0.13.9); the CPU lock reads
# torch's metadata from a local wheel (--find-links, default /opt/wheels) or from the
# PyTorch CPU index. uv keeps the versions already in an output file unless they must
# change. After a change, mirror the pins into envs/*.yaml (tests/test_envs.py checks that
# they agree).
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
# slurm.txt: the whole environment with the extra, held at cpu.txt's versions, minus cpu.txt
all=$(mktemp)
trap 'rm -f "$all"' EXIT
[ -f slurm.txt ] && cp slurm.txt "$all"   # uv's version preferences
uv pip compile "${common[@]}" --extra slurm "${cpu_src[@]}" -c cpu.txt -o "$all"
python3 - cpu.txt "$all" > slurm.txt <<'PY'
import re, sys
def blocks(path):
    out, name = {}, None
    for line in open(path):
        m = re.match(r"^([A-Za-z0-9_.\-\[\]]+)==", line)
        if m:
            name = re.sub(r"[-_.]+", "-", m.group(1).split("[")[0]).lower()
            out[name] = ""
        if name and not line.startswith("#"):
            out[name] += line
    return out
base, full = blocks(sys.argv[1]), blocks(sys.argv[2])
sys.stdout.write("".join(text for name, text in full.items() if name not in base))
PY
for f in cpu.txt cuda.txt slurm.txt; do
  sed -i "1i # Locked by requirements/lock.sh (uv $(uv --version | cut -d' ' -f2)); do not edit by hand." "$f"
done
