# Shared by the launchers: pick the Python, check the config argument before any work starts.
# shellcheck shell=bash
AGSSP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -x "$AGSSP_ROOT/.venv/bin/python" ]]; then
    AGSSP_PYTHON="$AGSSP_ROOT/.venv/bin/python"
else
    AGSSP_PYTHON="${PYTHON:-python3}"
fi

# require_config USAGE "$@": the first argument must be an existing config file.
require_config() {
    local usage="$1"; shift
    if [[ $# -lt 1 || "$1" == -* ]]; then
        echo "usage: $usage" >&2
        exit 2
    fi
    if [[ ! -f "$1" ]]; then
        echo "error: config file not found: $1" >&2
        exit 2
    fi
}

# require_count NAME VALUE: a positive integer, else exit with a message.
require_count() {
    if ! [[ "$2" =~ ^[1-9][0-9]*$ ]]; then
        echo "error: $1 must be a positive integer, got '$2'" >&2
        exit 2
    fi
}
