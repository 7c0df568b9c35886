#!/usr/bin/env bash
# Distributed training with torchrun: tools/dist_train.sh CONFIG [train.py args...]
# GPUS (processes per node; default: number of GPUs, or 2 CPU processes with gloo when there is
# none), NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1), PORT (29500).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/launch_common.sh"
require_config "$(basename "$0") CONFIG [tools/train.py options]" "$@"
CONFIG="$1"; shift

if [[ -z "${GPUS:-}" ]]; then
    GPUS=$("$AGSSP_PYTHON" -c 'import torch; print(torch.cuda.device_count() or 2)')
fi
NNODES="${NNODES:-1}"
NODE_RANK="${NODE_RANK:-0}"
MASTER_ADDR="${MASTER_ADDR:-127.0.0.1}"
PORT="${PORT:-29500}"
require_count GPUS "$GPUS"
require_count NNODES "$NNODES"
require_count PORT "$PORT"
if ! [[ "$NODE_RANK" =~ ^[0-9]+$ ]] || (( NODE_RANK >= NNODES )); then
    echo "error: NODE_RANK must be in [0, NNODES), got '$NODE_RANK' with NNODES=$NNODES" >&2
    exit 2
fi

PYTHONPATH="$AGSSP_ROOT${PYTHONPATH:+:$PYTHONPATH}" exec "$AGSSP_PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" --master_port="$PORT" \
    "$AGSSP_ROOT/tools/train.py" "$CONFIG" --launcher pytorch "$@"
