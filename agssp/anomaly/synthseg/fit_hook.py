"""The end of a SynthSeg training run, as an mmengine hook: the memory fit, ``synthseg.pth``
and the loss curve; and what a checkpoint must match to be resumed, with the training clock
it carries."""
import io
import time
from pathlib import Path
from typing import List, Tuple

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from agssp.core.fileio import atomic_write_bytes
from agssp.core.training_logs import read_scalars, read_scalars_file

MODEL_FILE = 'synthseg.pth'
CURVE_FILE = 'loss_curve.png'
CHECKPOINT_KEY = 'synthseg'


def logged_losses(work_dir, log_dir, resumed: bool) -> Tuple[List[int], List[float]]:
    """(steps, losses) that the LoggerHook wrote to ``scalars.json``: this run's (``log_dir``)
    and, when it ``resumed``, those of the runs before it in ``work_dir``; a later run's
    record of a step replaces an earlier one."""
    if resumed:
        records = read_scalars(work_dir)
    else:
        path = Path(log_dir) / 'vis_data' / 'scalars.json'
        records = read_scalars_file(path) if path.is_file() else []
    points = {int(r['step']): float(r['loss']) for r in records if 'loss' in r and 'step' in r}
    steps = sorted(points)
    return steps, [points[s] for s in steps]


def save_loss_curve(path, steps: List[int], losses: List[float]) -> None:
    """The logged loss (each point the mean over one logging interval) against the iteration,
    as PNG, written atomically. Drawn here: the anomaly stage may not import
    ``agssp.visualization`` (.importlinter)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3), dpi=100)
    ax.plot(steps, losses, lw=1.2, marker='o' if len(steps) < 30 else None, ms=3)
    ax.set_xlabel('iteration')
    ax.set_ylabel('loss (mean over the logging interval)')
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format='png')
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


@HOOKS.register_module()
class SynthSegFitHook(Hook):
    """After training: fit the memories and score normalisation on ``images`` (grey uint8
    (N, H, W)), write ``<work_dir>/synthseg.pth`` (the SynthSeg state dict) and
    ``loss_curve.png``. Checkpoints carry ``key`` (what shapes training) and the training
    clock; resuming from a checkpoint with another key raises ``ValueError``.

    After the run, :attr:`summary` holds the timings (seconds, CPU seconds of this process,
    resumed runs included) and the logged losses.
    """

    priority = 'LOW'

    def __init__(self, images: np.ndarray, key: dict, resumed: bool = False):
        self.images = images
        self.key = key
        self.resumed = bool(resumed)
        self.seconds = self.cpu_seconds = 0.0
        self.summary: dict = {}

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        saved = checkpoint.get(CHECKPOINT_KEY)
        if saved is None or saved['key'] != self.key:
            raise ValueError(f'{runner.work_dir}: its last checkpoint was saved for other '
                             'settings or images; remove it or train into another work dir')
        self.seconds, self.cpu_seconds = saved['seconds'], saved['cpu_seconds']

    def before_train(self, runner) -> None:
        self._began = time.perf_counter() - self.seconds
        self._cpu_began = time.process_time() - self.cpu_seconds

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = dict(key=self.key,
                                          seconds=time.perf_counter() - self._began,
                                          cpu_seconds=time.process_time() - self._cpu_began)

    def after_train(self, runner) -> None:
        train_seconds = time.perf_counter() - self._began
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        synthseg = model.model
        fit_began = time.perf_counter()
        synthseg.eval()
        synthseg.fit(torch.from_numpy(self.images)[:, None])
        fit_seconds = time.perf_counter() - fit_began
        steps, losses = logged_losses(runner.work_dir, runner.log_dir, self.resumed)
        work_dir = Path(runner.work_dir)
        if is_main_process():
            buf = io.BytesIO()
            torch.save({k: v.cpu() for k, v in synthseg.state_dict().items()}, buf)
            atomic_write_bytes(work_dir / MODEL_FILE, buf.getvalue())
            save_loss_curve(work_dir / CURVE_FILE, steps, losses)
        self.summary = dict(iterations=runner.iter, train_seconds=train_seconds,
                            fit_seconds=fit_seconds,
                            cpu_seconds=time.process_time() - self._cpu_began,
                            loss_steps=steps, losses=losses)
