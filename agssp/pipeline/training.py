"""Running tools/train.py and tools/test.py for a pipeline stage, with progress lines."""
import os
import subprocess
import sys
from pathlib import Path

from agssp.pipeline.config_edit import REPO_ROOT

PROGRESS_MARKERS = ('Epoch(train)', 'Epoch(val)', 'Iter(train)', 'Iter(val)', 'bbox_mAP_copypaste',
                    'Error', 'error:')


def _run_tool(cmd, work_dir, log_name, log):
    """Run a tool, its whole output into ``work_dir/log_name``, progress lines through ``log``."""
    with open(Path(work_dir) / log_name, 'a') as full_log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                cwd=REPO_ROOT, env={**os.environ, 'PYTHONUNBUFFERED': '1'})
        tail = []
        for line in proc.stdout:
            full_log.write(line)
            tail = (tail + [line])[-40:]
            if any(marker in line for marker in PROGRESS_MARKERS):
                full_log.flush()
                log('    ' + line.strip()[:200])
        if proc.wait() != 0:
            raise RuntimeError(f'{Path(cmd[1]).name} failed; last lines of '
                               f'{Path(work_dir) / log_name}:\n' + ''.join(tail))


def train(config, work_dir, log=print, best=False) -> Path:
    """Run tools/train.py on ``config`` into ``work_dir``, resuming from its last checkpoint.

    Returns the last checkpoint, or with ``best`` the best one the config's CheckpointHook kept.
    """
    work_dir = Path(work_dir)
    cmd = [sys.executable, str(REPO_ROOT / 'tools' / 'train.py'), str(config),
           '--work-dir', str(work_dir)]
    if (work_dir / 'last_checkpoint').is_file():
        cmd.append('--resume')
    _run_tool(cmd, work_dir, 'train.log', log)
    last = work_dir / 'last_checkpoint'
    if not last.is_file():
        raise RuntimeError(f'training of {config} wrote no checkpoint in {work_dir}')
    best_files = sorted(work_dir.glob('best_*.pth'), key=lambda p: p.stat().st_mtime)
    if best and best_files:
        return best_files[-1]
    return Path(last.read_text().strip())


def evaluate_checkpoint(config, checkpoint, work_dir, gt_file, log=print) -> dict:
    """Test a checkpoint with tools/test.py; per-class COCO AP from the predictions it saved.

    The config's test evaluator must have ``outfile_prefix=<work_dir>/predictions``.
    """
    from agssp.evaluation.detection_metrics import coco_ap_by_class
    cmd = [sys.executable, str(REPO_ROOT / 'tools' / 'test.py'), str(config), str(checkpoint),
           '--work-dir', str(Path(work_dir) / 'test')]
    _run_tool(cmd, work_dir, 'test.log', log)
    predictions = Path(work_dir) / 'predictions.bbox.json'
    if not predictions.is_file():
        raise RuntimeError(f'testing {checkpoint} wrote no {predictions}')
    return dict(predictions=str(predictions), **coco_ap_by_class(gt_file, predictions))
