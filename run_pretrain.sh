#!/usr/bin/env bash
# Pretraining (AGBP or AGDP) in one process: ./run_pretrain.sh CONFIG [tools/train.py options]
# e.g. ./run_pretrain.sh configs/pretrain_agbp/<config>.py --work-dir work_dirs/agbp
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools/launch_common.sh"
require_config "$(basename "$0") CONFIG [tools/train.py options]" "$@"
exec "$AGSSP_PYTHON" "$AGSSP_ROOT/tools/train.py" "$@"
