#!/usr/bin/env bash
# gpu_check.sh OUTDIR: one prepared run of axon's CUDA checks on a lent GPU machine.
#
# Run from anywhere (it moves to the repository root) on a machine with a GPU, CuPy, torch
# with CUDA, NumPy and pytest, but no network and no axon installed:
#
#     bash benchmarks/gpu_check.sh "$OUT"        # e.g. as the device tool's command
#
# Stages, each under its own time limit (shell `timeout`, SIGINT first so that pytest and
# bench_gpu.py print what they have; the whole run is kept under GPU_CHECK_BUDGET seconds,
# 540 by default, the last stages getting what is left), continuing past failures:
#   1. install   pip install --no-deps --no-build-isolation --no-index -e .  -> install.log
#                (no network: pip may not fetch setuptools for an isolated build; when the
#                install fails, PYTHONPATH=src stands in for it)
#   2. env       nvidia-smi, Python/NumPy/CuPy/torch versions, what axon.cuda sees, and
#                which of axon's dependencies do not import                 -> env.txt
#   3. tests     python -m pytest tests/cuda (150 s)                         -> tests_cuda.txt
#   4. parity    AXON_PARITY_DEVICES=cuda over tests/autograd tests/nn tests/optim, torch on
#                the CPU as the oracle (200 s; in 4 xdist workers when xdist imports)
#                                                                             -> parity_cuda.txt
#   5. bench     python benchmarks/bench_gpu.py --json OUTDIR/bench_gpu.json (180 s)
#                                                                             -> bench_gpu.txt
# and last a summary (each stage's exit status, seconds and log tail) on stdout and in
# OUTDIR/summary.txt. Seven files in all (the device tool brings back at most eight).
# Exit status: 0 when every stage exited 0, else 1. In a stage, 124 means it ran out of
# time. Limits can be changed with GPU_CHECK_T_TESTS, GPU_CHECK_T_PARITY, GPU_CHECK_T_BENCH,
# GPU_CHECK_BUDGET; the Python with PYTHON (default: python3, the one holding torch there).
# Suites that need MPI or chromium are not run.
set -uo pipefail

if [ $# -ne 1 ]; then
    echo "usage: bash benchmarks/gpu_check.sh OUTDIR" >&2
    exit 2
fi
mkdir -p "$1" || exit 2
OUT=$(cd "$1" && pwd)
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
PY=${PYTHON:-$(command -v python3 || command -v python)}
BUDGET=${GPU_CHECK_BUDGET:-540}
export PYTHONUNBUFFERED=1 PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1
START=$SECONDS
STAGES=()
declare -A RC SECS LOG

# run_stage NAME LIMIT LOG CMD...: CMD under `timeout`, its output into LOG.
run_stage() {
    local name=$1 limit=$2 log=$3
    shift 3
    local left=$((BUDGET - (SECONDS - START) - 15))
    ((limit > left)) && limit=$left
    ((limit < 10)) && limit=10
    echo "== $name (limit ${limit} s): $*"
    local t0=$SECONDS
    timeout -s INT -k 15 "$limit" "$@" >"$log" 2>&1
    RC[$name]=$?
    SECS[$name]=$((SECONDS - t0))
    LOG[$name]=$log
    STAGES+=("$name")
    echo "   exit ${RC[$name]} after ${SECS[$name]} s -> $log"
}

has() { "$PY" -c "import $1" >/dev/null 2>&1; }

# 1. install (build isolation would fetch setuptools from the network, which is not there)
run_stage install 120 "$OUT/install.log" \
    "$PY" -m pip install -q --no-deps --no-build-isolation --no-index -e .
if [ "${RC[install]}" -ne 0 ]; then
    export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
    echo "   the install failed: using PYTHONPATH=$PWD/src instead" | tee -a "$OUT/install.log"
fi
"$PY" -c "import axon; print('axon imports from', axon.__file__)" >>"$OUT/install.log" 2>&1 ||
    echo "   axon does not import: see $OUT/install.log and env.txt" | tee -a "$OUT/install.log"

# 2. environment
env_report() {
    echo "date: $(date -u +%FT%TZ)   host: $(uname -srm)   cores: $(nproc)"
    echo "repo: $PWD   commit: $(git rev-parse --short HEAD 2>/dev/null || echo '(no git)')"
    echo "python: $PY   PYTHONPATH=${PYTHONPATH:-}"
    echo; echo "--- nvidia-smi"
    timeout 30 nvidia-smi || echo "(nvidia-smi failed: exit $?)"
    echo; echo "--- imports ([project.dependencies], the suites' own needs, optional plugins)"
    timeout 60 "$PY" - <<'EOF'
import importlib, re, tomllib

deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
names = [re.split(r"[<>=!~;\[ ]", d)[0] for d in deps]
names += ["pytest", "hypothesis", "torch", "cupy"]
for name in names + ["xdist", "pytest_timeout"]:
    try:
        mod = importlib.import_module(name)
        print(f"ok       {name} {getattr(mod, '__version__', '')}")
    except Exception as e:
        print(f"{'MISSING' if name in names else 'absent '}  {name}: {e!r}")
EOF
    echo; echo "--- versions and devices"
    timeout 90 "$PY" - <<'EOF'
import platform, traceback

print("python", platform.python_version())
try:
    import torch

    print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn",
          torch.backends.cudnn.version(), "available", torch.cuda.is_available())
    if torch.cuda.is_available():
        print("torch device:", torch.cuda.get_device_name())
except Exception:
    traceback.print_exc()
try:
    import cupy

    print("cupy", cupy.__version__, "cuda runtime", cupy.cuda.runtime.runtimeGetVersion(),
          "driver", cupy.cuda.runtime.driverGetVersion(),
          "devices", cupy.cuda.runtime.getDeviceCount())
    print("cupy sum on the GPU:", float(cupy.arange(10, dtype=cupy.float32).sum()))
except Exception:
    traceback.print_exc()
try:
    import axon as ax

    print("axon", ax.__version__, "from", ax.__file__)
    print("axon.cuda.is_available():", ax.cuda.is_available(),
          "device_count():", ax.cuda.device_count())
    x = ax.ones(3).to("cuda")
    print("axon on cuda:", x.device, (x * 2).sum().item())
except Exception:
    traceback.print_exc()
EOF
}
echo "== env"
t0=$SECONDS
env_report >"$OUT/env.txt" 2>&1
RC[env]=$? SECS[env]=$((SECONDS - t0)) LOG[env]=$OUT/env.txt
STAGES+=(env)
echo "   -> $OUT/env.txt"
grep -E "^MISSING" "$OUT/env.txt" | sed 's/^/   /'

# 3. the CUDA tests, one process (ini addopts hold -n auto: xdist may be absent)
PYTEST=("$PY" -m pytest -o addopts= -p no:cacheprovider -q -rfE --durations=10)
has pytest_timeout && PYTEST+=(--timeout=120)  # a hung test fails alone, the rest go on
run_stage tests "${GPU_CHECK_T_TESTS:-150}" "$OUT/tests_cuda.txt" "${PYTEST[@]}" tests/cuda

# 4. the op, layer and optimizer parity suites on cuda
WORKERS=()
has xdist && WORKERS=(-n 4)
run_stage parity "${GPU_CHECK_T_PARITY:-200}" "$OUT/parity_cuda.txt" \
    env AXON_PARITY_DEVICES=cuda "${PYTEST[@]}" "${WORKERS[@]}" tests/autograd tests/nn tests/optim

# 5. the benchmark
run_stage bench "${GPU_CHECK_T_BENCH:-180}" "$OUT/bench_gpu.txt" \
    "$PY" benchmarks/bench_gpu.py --json "$OUT/bench_gpu.json"

# summary
{
    echo "gpu_check summary ($((SECONDS - START)) s in all; exit 124 = out of time)"
    for s in "${STAGES[@]}"; do
        printf '%-8s exit %-4s %4s s  %s\n' "$s" "${RC[$s]}" "${SECS[$s]}" "${LOG[$s]}"
    done
    grep -E "^MISSING" "$OUT/env.txt"
    for s in "${STAGES[@]}"; do
        echo; echo "--- $s: last lines of ${LOG[$s]}"
        tail -n 25 "${LOG[$s]}"
    done
} | tee "$OUT/summary.txt"

status=0
for s in "${STAGES[@]}"; do
    [ "${RC[$s]}" -eq 0 ] || status=1
done
exit $status
