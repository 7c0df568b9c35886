#!/usr/bin/env bash
# Pretraining on several GPUs or nodes with torchrun: ./dist_run_pretrain.sh CONFIG [options]
# Environment: GPUS (per node), NNODES, NODE_RANK, MASTER_ADDR, PORT. Without a GPU it runs 2 CPU
# processes with the gloo backend. Example, 2 nodes x 8 GPUs, on the first node:
#   GPUS=8 NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 ./dist_run_pretrain.sh CONFIG
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/tools/dist_train.sh" "$@"
