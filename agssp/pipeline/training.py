"""Running tools/train.py for a pipeline stage, with progress lines; a fine-tuning run also
tests its best checkpoint there (``--test-best``)."""
import os
import subprocess
import sys
from pathlib import Path

from agssp.engine.runner_setup import kept_checkpoint
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


def train(config, work_dir, log=print, best=False, test_ann=None):
    """Run tools/train.py on ``config`` into ``work_dir``, resuming from its last checkpoint.

    Returns the last checkpoint, or with ``best`` the one the config's ``save_best`` kept (chosen
    on the validation split). With ``test_ann`` (the test split's COCO file) that checkpoint is
    also tested once, in the training process (``--test-best``), and the result is
    ``(checkpoint, metrics)``: per-class COCO AP of the predictions the config's test evaluator
    saved (``outfile_prefix=<work_dir>/predictions``).
    """
    work_dir = Path(work_dir)
    cmd = [sys.executable, str(REPO_ROOT / 'tools' / 'train.py'), str(config),
           '--work-dir', str(work_dir)]
    if (work_dir / 'last_checkpoint').is_file():
        cmd.append('--resume')
    if test_ann is not None:
        cmd.append('--test-best')
    _run_tool(cmd, work_dir, 'train.log', log)
    if not (work_dir / 'last_checkpoint').is_file():
        raise RuntimeError(f'training of {config} wrote no checkpoint in {work_dir}')
    checkpoint = kept_checkpoint(work_dir, best=best or test_ann is not None)
    if test_ann is None:
        return checkpoint
    return checkpoint, _test_metrics(work_dir, test_ann)


def _test_metrics(work_dir, gt_file) -> dict:
    from agssp.evaluation.detection_metrics import coco_ap_by_class
    predictions = Path(work_dir) / 'predictions.bbox.json'
    if not predictions.is_file():
        raise RuntimeError(f'testing in {work_dir} wrote no {predictions}')
    return dict(predictions=str(predictions), **coco_ap_by_class(gt_file, predictions))
