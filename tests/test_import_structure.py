"""The package tree's import direction (``.importlinter``) and the light box rule."""
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.integration
def test_import_contracts_are_kept():
    lint = Path(sys.executable).with_name('lint-imports')
    if not lint.is_file():
        pytest.skip(f'import-linter is not installed beside {sys.executable} (requirements.txt)')
    out = subprocess.run([str(lint), '--config', str(REPO / '.importlinter')], cwd=REPO,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:]
    assert '0 broken' in out.stdout


@pytest.mark.integration
@pytest.mark.parametrize('module', ['agssp.pseudo_boxes.rule', 'agssp.pseudo_boxes.thresholds',
                                    'agssp.pseudo_boxes.export', 'agssp.core.images'])
def test_the_box_rule_loads_no_detection_framework_and_no_clip(module):
    code = (f'import sys, {module}; '
            "print(sorted(m for m in ('mmdet', 'mmyolo', 'mmpretrain', 'open_clip') "
            'if m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == '[]'
