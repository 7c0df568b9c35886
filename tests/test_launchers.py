"""The launchers refuse a missing config or a bad argument before any work starts."""
import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
LAUNCHERS = ['run_pretrain.sh', 'dist_run_pretrain.sh', 'run_yolo.sh', 'tools/dist_train.sh']


def _run(script, *args, env=None):
    return subprocess.run(['bash', str(REPO / script), *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})})


@pytest.mark.parametrize('script', LAUNCHERS)
def test_missing_config_is_rejected(script, tmp_path):
    result = _run(script, str(tmp_path / 'missing.py'))
    assert result.returncode == 2
    assert 'config file not found' in result.stderr and 'missing.py' in result.stderr


@pytest.mark.parametrize('script', LAUNCHERS)
def test_no_argument_prints_usage(script):
    result = _run(script)
    assert result.returncode == 2
    assert 'usage:' in result.stderr


@pytest.mark.parametrize('env', [dict(GPUS='two'), dict(NNODES='0'), dict(PORT='x'),
                                 dict(NNODES='2', NODE_RANK='2')])
def test_bad_distributed_settings_are_rejected(env):
    result = _run('dist_run_pretrain.sh', str(REPO / 'setup.py'), env=env)
    assert result.returncode == 2
    assert 'error:' in result.stderr


def test_train_tool_rejects_missing_config(tmp_path):
    python = REPO / '.venv' / 'bin' / 'python'
    exe = str(python) if python.exists() else 'python'
    result = subprocess.run([exe, str(REPO / 'tools' / 'train.py'), str(tmp_path / 'no.py')],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert 'config file not found' in result.stderr
