#!/usr/bin/env bash
# Fine-tuning a detector (YOLOv8 and the others): ./run_yolo.sh CONFIG [tools/train.py options]
# With GPUS > 1 in the environment it runs through torchrun (tools/dist_train.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools/launch_common.sh"
require_config "$(basename "$0") CONFIG [tools/train.py options]" "$@"
if [[ -n "${GPUS:-}" ]]; then
    require_count GPUS "$GPUS"
    if (( GPUS > 1 )); then exec "$AGSSP_ROOT/tools/dist_train.sh" "$@"; fi
fi
exec "$AGSSP_PYTHON" "$AGSSP_ROOT/tools/train.py" "$@"
