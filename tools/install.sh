#!/usr/bin/env bash
# Install agssp and its pinned OpenMMLab stack into .venv/ at the repository root.
#
# Idempotent: on a ready checkout it checks the stack and exits in seconds.
# mmcv 2.0.1 with compiled ops comes from the first wheel that fits the installed torch, Python
# and CPU/CUDA variant in: $AGSSP_WHEEL_DIR, ../shared/wheels/, ~/.cache/agssp/wheels/ (each
# holding torch<version>-<cpu|cuXYZ>/mmcv-2.0.1-<pytag>-<pytag>-linux_<arch>.whl). When none fits
# (or AGSSP_NO_WHEEL_CACHE=1), the sdist is fetched, its C++ standard patched to what torch needs,
# built, and the wheel kept in ~/.cache/agssp/wheels/.
#
# Environment: PYTHON (interpreter for the venv, default python3.11 then python3),
# AGSSP_TORCH_SPEC (default "torch==2.14.1 torchvision==0.29.1"), AGSSP_WHEEL_DIR,
# AGSSP_NO_WHEEL_CACHE=1, AGSSP_VENV (default <repo>/.venv), MAX_JOBS (build parallelism).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${AGSSP_VENV:-$ROOT/.venv}"
TORCH_SPEC="${AGSSP_TORCH_SPEC:-torch==2.14.1 torchvision==0.29.1}"
MMCV_VERSION="2.0.1"
USER_WHEEL_CACHE="${HOME}/.cache/agssp/wheels"
STAMP="$VENV/.agssp-installed"
STEP="start"
T0=$SECONDS

say() { printf '[install %4ds] %s\n' "$((SECONDS - T0))" "$*"; }
on_error() {
    local rc=$?
    printf '[install] FAILED during step "%s" (exit %d).\n' "$STEP" "$rc" >&2
    case "$STEP" in
        venv) echo "  Check that '$PY' works and has the venv module (Debian: apt-get install python3-venv)." >&2 ;;
        torch) echo "  pip could not install '$TORCH_SPEC'. Set AGSSP_TORCH_SPEC to a torch/torchvision pair your index serves." >&2 ;;
        mmcv-build) echo "  The mmcv build log is at $BUILD_LOG. A C++ compiler (g++) and the Python headers are needed;" >&2
                    echo "  for CUDA ops also nvcc matching torch's CUDA version. Re-run this script after fixing it." >&2 ;;
        mmcv-install) echo "  The mmcv wheel did not install or its ops do not load; delete it from the cache named above and re-run." >&2 ;;
        stack) echo "  pip could not install requirements.txt; see pip's message above (network, index, pins)." >&2 ;;
        check) echo "  The stack installed but does not import; see the Python traceback above." >&2 ;;
        *) echo "  See the messages above." >&2 ;;
    esac
    exit "$rc"
}
trap on_error ERR

req_hash() { cat "$ROOT/requirements.txt" "$ROOT/setup.py" "$ROOT/tools/install.sh" | sha256sum | cut -d' ' -f1; }

check_stack() {
    "$VENV/bin/python" - <<'PY'
import mmcv, mmcv.ops, mmdet, mmengine, mmpretrain, mmseg, mmyolo, numpy, open_clip, torch
import agssp.anomaly, agssp.datasets, agssp.models, agssp.pseudo_boxes.dataset  # noqa: F401,E401
assert mmcv.__version__ == '2.0.1', mmcv.__version__
assert int(numpy.__version__.split('.')[0]) < 2, numpy.__version__
print(f'torch {torch.__version__}, mmcv {mmcv.__version__} (ops ok), mmengine {mmengine.__version__}, '
      f'mmdet {mmdet.__version__}, mmyolo {mmyolo.__version__}, mmpretrain {mmpretrain.__version__}, '
      f'mmseg {mmseg.__version__}, numpy {numpy.__version__}')
PY
}

# ---- fast path: an already complete install --------------------------------------------------
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(req_hash)" ]]; then
    STEP="check"
    if check_stack; then
        say "agssp environment in $VENV is ready (nothing to do)."
        exit 0
    fi
    say "the stamp says ready but the stack does not import: reinstalling."
fi

# ---- 1. virtual environment ------------------------------------------------------------------
STEP="venv"
PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
    if command -v python3.11 >/dev/null; then PY=python3.11; else PY=python3; fi
fi
if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating $VENV with $($PY --version 2>&1)"
    "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip)
export PIP_DISABLE_PIP_VERSION_CHECK=1
say "build tools (setuptools<81 for mmcv's pkg_resources, wheel, ninja)"
"${PIP[@]}" install -q 'setuptools<81' wheel ninja 'numpy<2' packaging

# ---- 2. torch --------------------------------------------------------------------------------
STEP="torch"
if ! "$VENV/bin/python" -c 'import torch, torchvision' 2>/dev/null; then
    say "installing $TORCH_SPEC (a few GB; minutes)"
    # shellcheck disable=SC2086
    "${PIP[@]}" install $TORCH_SPEC 'numpy<2' 'setuptools<81'
fi
read -r TORCH_VER CUDA_VER HAS_GPU PYTAG ARCH < <("$VENV/bin/python" - <<'PY'
import platform, sys, torch
print(torch.__version__.split('+')[0], torch.version.cuda or 'none', int(torch.cuda.is_available()),
      f'cp{sys.version_info.major}{sys.version_info.minor}', platform.machine())
PY
)
if [[ "$HAS_GPU" == 1 && "$CUDA_VER" != none ]] && command -v nvcc >/dev/null; then
    VARIANT="cu${CUDA_VER//./}"
else
    VARIANT="cpu"
fi
WHEEL_NAME="mmcv-${MMCV_VERSION}-${PYTAG}-${PYTAG}-linux_${ARCH}.whl"
WHEEL_SUBDIR="torch${TORCH_VER}-${VARIANT}"
say "torch $TORCH_VER (CUDA runtime: $CUDA_VER, GPU visible: $HAS_GPU) -> mmcv variant $WHEEL_SUBDIR/$WHEEL_NAME"

# ---- 3. mmcv with compiled ops ---------------------------------------------------------------
mmcv_ok() { "$VENV/bin/python" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null; }
WHEEL=""
if mmcv_ok; then
    say "mmcv $MMCV_VERSION with ops already installed"
else
    if [[ "${AGSSP_NO_WHEEL_CACHE:-0}" != 1 ]]; then
        for dir in "${AGSSP_WHEEL_DIR:-}" "$ROOT/../shared/wheels" "$USER_WHEEL_CACHE"; do
            [[ -n "$dir" && -f "$dir/$WHEEL_SUBDIR/$WHEEL_NAME" ]] || continue
            WHEEL="$dir/$WHEEL_SUBDIR/$WHEEL_NAME"
            say "using prebuilt mmcv wheel $WHEEL"
            break
        done
        [[ -n "$WHEEL" ]] || say "no prebuilt mmcv wheel fits $WHEEL_SUBDIR/$WHEEL_NAME: building from source"
    else
        say "AGSSP_NO_WHEEL_CACHE=1: building mmcv from source"
    fi
    if [[ -z "$WHEEL" ]]; then
        STEP="mmcv-build"
        CXX_STD=$("$VENV/bin/python" -c "import torch; v=tuple(int(x) for x in torch.__version__.split('+')[0].split('.')[:2]); print('c++20' if v >= (2, 14) else 'c++17')")
        BUILD_DIR="$(mktemp -d "${TMPDIR:-/tmp}/agssp-mmcv-build.XXXXXX")"
        BUILD_LOG="$BUILD_DIR/build.log"
        OUT_DIR="$USER_WHEEL_CACHE/$WHEEL_SUBDIR"
        mkdir -p "$OUT_DIR"
        say "fetching the mmcv $MMCV_VERSION sdist"
        "${PIP[@]}" download -q --no-deps --no-binary :all: --no-build-isolation "mmcv==$MMCV_VERSION" -d "$BUILD_DIR"
        tar -xzf "$BUILD_DIR"/mmcv-"$MMCV_VERSION".tar.gz -C "$BUILD_DIR"
        SRC="$BUILD_DIR/mmcv-$MMCV_VERSION"
        sed -i -E "s/-std=c\+\+1[47]/-std=${CXX_STD}/g" "$SRC/setup.py"
        say "patched setup.py to -std=$CXX_STD; $(grep -c -- "-std=$CXX_STD" "$SRC/setup.py") flag(s) set"
        export MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}"
        if [[ "$VARIANT" != cpu ]]; then export FORCE_CUDA=1; else export FORCE_CUDA=0; fi
        say "building mmcv ($VARIANT ops, MAX_JOBS=$MAX_JOBS). This takes about half an hour on 2 cores;"
        say "log: $BUILD_LOG (a progress line every minute)"
        (cd "$SRC" && "${PIP[@]}" wheel -v --no-build-isolation --no-deps . -w "$BUILD_DIR/dist") >"$BUILD_LOG" 2>&1 &
        BUILD_PID=$!
        while kill -0 "$BUILD_PID" 2>/dev/null; do
            sleep 60
            kill -0 "$BUILD_PID" 2>/dev/null || break
            say "  building mmcv: $(find "$SRC" -name '*.o' 2>/dev/null | wc -l) objects compiled so far"
        done
        if ! wait "$BUILD_PID"; then
            tail -n 30 "$BUILD_LOG" >&2
            false
        fi
        BUILT="$(ls "$BUILD_DIR"/dist/mmcv-"$MMCV_VERSION"-*.whl)"
        cp "$BUILT" "$OUT_DIR/$WHEEL_NAME.tmp" && mv "$OUT_DIR/$WHEEL_NAME.tmp" "$OUT_DIR/$WHEEL_NAME"
        WHEEL="$OUT_DIR/$WHEEL_NAME"
        say "built $WHEEL (kept for later installs)"
        rm -rf "$BUILD_DIR"
    fi
    STEP="mmcv-install"
    "${PIP[@]}" install -q --no-deps --force-reinstall "$WHEEL"
fi

# ---- 4. the rest of the stack and agssp itself -----------------------------------------------
STEP="stack"
say "installing requirements.txt and agssp (editable)"
# torch is pinned to what is installed so that no requirement can swap it;
# setuptools stays < 81: mmcv and mmengine still import pkg_resources.
TORCH_PIN="$(mktemp)"
"$VENV/bin/python" -c "import torch, torchvision; v = lambda m: m.__version__.split('+')[0]; print(f'torch=={v(torch)}'); print(f'torchvision=={v(torchvision)}')" >"$TORCH_PIN"
echo 'setuptools<81' >>"$TORCH_PIN"
"${PIP[@]}" install -q -r "$ROOT/requirements.txt" -c "$TORCH_PIN"
"${PIP[@]}" install -q --no-deps -e "$ROOT"
rm -f "$TORCH_PIN"
mmcv_ok

# ---- 5. check --------------------------------------------------------------------------------
STEP="check"
check_stack
req_hash >"$STAMP"
say "done: activate with 'source $VENV/bin/activate'"
