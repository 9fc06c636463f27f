#!/usr/bin/env bash
# The CUDA check, in one go, for a person with an NVIDIA GPU:
#   bash bench/gpu_check.sh [cuda12|cuda13] [OUTDIR]
# installs mbtorch + the cuda plugin (CuPy with NVRTC/cuBLAS wheels) into .venv-gpu, then runs
# the cuda tests, the conformance standard tier on cuda, the benchmarks (`python -m bench
# --device cuda`, beside NumPy and PyTorch; PyTorch CUDA when the installed torch has it) and
# the demo trainings on cuda. Everything lands in OUTDIR (default bench/results/gpu-<date>);
# commit that folder. Each step runs even if an earlier one failed; the exit status is the
# number of failed steps.
set -uo pipefail
cd "$(dirname "$0")/.."

extra="${1:-cuda12}"
out="${2:-bench/results/gpu-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
venv=.venv-gpu
failed=0

step() {  # step NAME COMMAND...: run, log to OUTDIR/NAME.log, record the status
    local name="$1"; shift
    echo "== $name: $*" | tee -a "$out/steps.txt"
    if "$@" >"$out/$name.log" 2>&1; then
        echo "   ok" | tee -a "$out/steps.txt"
    else
        echo "   FAILED ($?), see $name.log" | tee -a "$out/steps.txt"
        failed=$((failed + 1))
    fi
}

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
py="$venv/bin/python"
step install "$venv/bin/pip" install -e plugins/mbtorch_numpy -e ".[dev]" -e conformance \
    -e "plugins/mbtorch_cuda[$extra]"
# PyTorch is the benchmarks' reference; the default wheel from PyPI is CUDA-enabled on Linux
step install_torch "$venv/bin/pip" install torch
{ nvidia-smi || true; "$py" -m mbtorch info; "$py" -c "import torch; print('torch', \
torch.__version__, 'cuda', torch.cuda.is_available())"; } >"$out/machine.txt" 2>&1
step tests "$py" -m pytest -q -rs tests/plugins/test_cuda.py
step conformance "$py" -m mbtorch_conformance --device cuda --tier standard \
    --json "$out/conformance.json" --markdown "$out/conformance.md"
step bench "$py" -m bench --device cuda --out "$out/bench"
for demo in train_mlp train_cnn; do
    if [ -f "examples/$demo.py" ]; then
        step "$demo" "$py" "examples/$demo.py" --device cuda
    fi
done
echo "$failed failed step(s); results in $out" | tee -a "$out/steps.txt"
exit "$failed"
