"""Training SynthSeg on a pool of unlabelled images with mmengine's Runner: synthetic
defects (:class:`SyntheticDefectDataset`), the segmentation loss (:class:`SynthSegTrainModel`),
then the Gaussian memories and score normalisation (:class:`SynthSegFitHook`).

Deterministic and resumable: the model is initialised from ``seed``; the batch of iteration
``i`` (images, flips, synthetic defects) depends only on ``(seed, i)``; the learning rate is a
function of ``i`` (:func:`param_schedulers`). ``CheckpointHook`` saves the Runner's state
(``<work_dir>/iter_<i>.pth``, ``last_checkpoint``) every ``checkpoint_interval`` iterations and
a restarted run resumes from it; ``LoggerHook`` writes the loss every ``log_interval``
iterations to ``<work_dir>/<timestamp>/vis_data/scalars.json``. The finished model (network,
memories, normalisation) is ``<work_dir>/synthseg.pth``, a state dict that ``checkpoint=`` in
an anomaly-map config loads; ``train_log.json`` and ``loss_curve.png`` sum the run up.
"""
import copy
import json
import logging
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.runner import Runner
from tqdm import tqdm

from agssp.anomaly.image_input import ImageReadError, load_model_input
from agssp.anomaly.registry import ANOMALY_MODELS
from agssp.anomaly.synthseg.fit_hook import CURVE_FILE, MODEL_FILE, SynthSegFitHook
from agssp.anomaly.synthseg.model import SynthSeg, aspect_input_size
from agssp.anomaly.synthseg.runner_model import SynthSegTrainModel
from agssp.anomaly.synthseg.synthetic_dataset import SyntheticDefectDataset, one_batch_per_item
from agssp.compat import distributed_backend
from agssp.core.fileio import atomic_write_json

logger = logging.getLogger('agssp')

LOG_FILE = 'train_log.json'
LAST_CHECKPOINT = 'last_checkpoint'
__all__ = ['TrainSettings', 'param_schedulers', 'train_synthseg', 'train_from_config',
           'load_training_images', 'median_aspect', 'read_image_list', 'MODEL_FILE',
           'CURVE_FILE', 'LOG_FILE', 'LAST_CHECKPOINT']


@dataclass
class TrainSettings:
    """The ``train`` dict of a SynthSeg config (see configs/anomaly/synthseg_*.py)."""
    iterations: int = 600
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_ratio: float = 0.05
    seed: int = 0
    bf16: bool = False
    num_threads: Optional[int] = None
    checkpoint_interval: int = 50
    log_interval: int = 20
    synthetic: dict = field(default_factory=dict)

    def __post_init__(self):
        # Plain JSON types only (a config's ConfigDict would not load with weights_only=True).
        self.synthetic = json.loads(json.dumps(dict(self.synthetic)))
        if self.iterations < 1 or self.batch_size < 1:
            raise ValueError(f'iterations and batch_size must be >= 1, got {self.iterations}, '
                             f'{self.batch_size}')
        if self.lr <= 0 or not 0 <= self.warmup_ratio < 1:
            raise ValueError(f'need lr > 0 and 0 <= warmup_ratio < 1, got {self.lr}, '
                             f'{self.warmup_ratio}')


def param_schedulers(settings: TrainSettings) -> list:
    """mmengine param schedulers (per iteration) of the learning rate: linear warm-up from
    ``lr / warmup`` to ``lr`` over the first ``warmup = max(1, warmup_ratio * iterations)``
    iterations, then cosine decay to 1% of ``lr`` at the last iteration."""
    warmup = max(1, int(settings.warmup_ratio * settings.iterations))
    cosine = dict(type='CosineAnnealingLR', eta_min=0.01 * settings.lr, by_epoch=False,
                  begin=warmup, end=max(settings.iterations, warmup + 1),
                  T_max=max(1, settings.iterations - warmup))
    if warmup == 1:
        return [cosine]
    return [dict(type='LinearLR', start_factor=1 / warmup, end_factor=1.0, by_epoch=False,
                 begin=0, end=warmup), cosine]


def load_training_images(paths: Sequence, input_size, progress: bool = True):
    """Grey uint8 images (N, H, W) at ``input_size`` and the (path, reason) of skipped files.

    Images are read by the same rule as map generation (:func:`load_model_input`); an
    unreadable file is logged, counted and listed, not silently dropped.
    """
    images, skipped = [], []
    for path in tqdm(paths, desc='loading images', unit='img', disable=not progress,
                     dynamic_ncols=True):
        try:
            rgb = load_model_input(path, input_size)
        except ImageReadError as exc:
            skipped.append((str(path), exc.reason))
            logger.warning('skipped training image %s', exc)
            continue
        images.append(rgb.mean(0).round().clamp(0, 255).to(torch.uint8).numpy())
    if not images:
        raise ValueError(f'no readable training image among {len(paths)} paths')
    return np.stack(images), skipped


def median_aspect(paths: Sequence) -> float:
    """Median width / height of the readable images among ``paths`` (headers only, EXIF
    orientation applied as :func:`agssp.anomaly.image_input.read_rgb` does)."""
    from PIL import Image
    ratios = []
    for path in paths:
        try:
            with Image.open(path) as img:
                w, h = img.size
                if img.getexif().get(0x0112, 1) in (5, 6, 7, 8):   # rotated by 90 degrees
                    w, h = h, w
        except Exception:  # unreadable files are reported by load_training_images
            continue
        if w and h:
            ratios.append(w / h)
    if not ratios:
        raise ValueError(f'no readable training image among {len(paths)} paths')
    return float(np.median(ratios))


BOOKKEEPING = ('num_threads', 'checkpoint_interval', 'log_interval')


def _state_key(settings: TrainSettings, net: torch.nn.Module, images: np.ndarray) -> dict:
    """What a saved training state must match to be resumed: the settings that shape training,
    the network's parameter shapes, the number of images and their size (the input size, which
    the aspect choice may change while the network stays the same)."""
    shaping = {k: v for k, v in asdict(settings).items() if k not in BOOKKEEPING}
    shapes = {name: list(p.shape) for name, p in net.state_dict().items()}
    return dict(settings=shaping, net=shapes, num_images=int(len(images)),
                input_size=[int(v) for v in images.shape[1:3]])


def build_runner(model: SynthSeg, images: np.ndarray, work_dir, settings: TrainSettings,
                 resume: bool = True, custom_hooks: Sequence = (),
                 visualizer: Optional[dict] = None, launcher: str = 'none',
                 cfg=None) -> Runner:
    """The Runner that trains ``model`` on grey uint8 ``images`` (N, H, W) into ``work_dir``.

    ``custom_hooks`` and ``visualizer`` (e.g. a ``TensorboardVisBackend``) are added as in any
    mmengine config; ``launcher='pytorch'`` trains in the processes ``torchrun`` started.
    """
    if images.shape[1:] != tuple(model.input_size):
        raise ValueError(f'images are {images.shape[1:]}, the model expects {model.input_size}')
    fit = SynthSegFitHook(images, _state_key(settings, model.net, images), resumed=resume)
    dataset = SyntheticDefectDataset(images, settings.iterations, settings.batch_size,
                                     settings.seed, model.net.out_stride, settings.synthetic)
    # The Runner records this config and reads its model wrapper from it.
    cfg = copy.deepcopy(cfg) if isinstance(cfg, Config) else Config(dict(cfg or {}))
    if launcher != 'none' and not torch.cuda.is_available():
        cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None,
                                     broadcast_buffers=False)
    return Runner(
        model=SynthSegTrainModel(model, bf16=settings.bf16),
        work_dir=str(work_dir),
        # Unique: mmengine keeps one logger and visualizer per experiment name and process.
        experiment_name=f'synthseg_{uuid.uuid4().hex[:8]}',
        train_dataloader=dict(dataset=dataset, sampler=dict(type='DefaultSampler', shuffle=False),
                              batch_size=1, num_workers=0, collate_fn=one_batch_per_item),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=settings.iterations),
        optim_wrapper=dict(type='OptimWrapper', optimizer=dict(
            type='AdamW', lr=settings.lr, weight_decay=settings.weight_decay)),
        param_scheduler=param_schedulers(settings),
        default_hooks=dict(
            timer=dict(type='IterTimerHook'),
            logger=dict(type='LoggerHook', interval=settings.log_interval),
            param_scheduler=dict(type='ParamSchedulerHook'),
            checkpoint=dict(type='CheckpointHook', by_epoch=False,
                            interval=settings.checkpoint_interval, max_keep_ckpts=2),
            sampler_seed=dict(type='DistSamplerSeedHook')),
        custom_hooks=[fit, *custom_hooks],
        log_processor=dict(by_epoch=False, window_size=settings.log_interval),
        visualizer=visualizer,
        randomness=dict(seed=settings.seed),
        resume=resume,
        launcher=launcher,
        default_scope='mmengine',
        cfg=cfg,
        env_cfg=dict(dist_cfg=dict(backend=distributed_backend())))


def train_synthseg(model: SynthSeg, images: np.ndarray, work_dir, settings: TrainSettings,
                   resume: bool = True, extra_log: Optional[dict] = None, **runner_options
                   ) -> dict:
    """Train ``model`` on grey uint8 ``images`` (N, H, W) with :func:`build_runner`, fit it,
    save it; returns the summary also written to ``train_log.json``."""
    runner = build_runner(model, images, work_dir, settings, resume=resume, **runner_options)
    runner.train()
    fit = next(h for h in runner.hooks if isinstance(h, SynthSegFitHook))
    run = fit.summary
    losses = run['losses']
    log = dict(settings=asdict(settings), images=int(len(images)), iterations=run['iterations'],
               train_seconds=round(run['train_seconds'], 1),
               fit_seconds=round(run['fit_seconds'], 1),
               total_seconds=round(run['train_seconds'] + run['fit_seconds'], 1),
               cpu_seconds=round(run['cpu_seconds'], 1), threads=torch.get_num_threads(),
               final_loss=losses[-1] if losses else None, loss_steps=run['loss_steps'],
               losses=losses, log_dir=str(runner.log_dir),
               score_centre=model.score_centre.tolist(), score_scale=model.score_scale.tolist(),
               model=model.settings(), **(extra_log or {}))
    if is_main_process():
        atomic_write_json(Path(work_dir) / LOG_FILE, log, indent=1)
    return log


def read_image_list(list_file, img_dir) -> List[Path]:
    """Paths of a list file (one image per line, relative to ``img_dir`` or absolute)."""
    list_file, img_dir = Path(list_file), Path(img_dir)
    if not list_file.is_file():
        raise FileNotFoundError(f'image list not found: {list_file}')
    lines = [ln.strip() for ln in list_file.read_text(encoding='utf-8').splitlines()]
    paths = [img_dir / ln for ln in lines if ln and not ln.startswith('#')]
    if not paths:
        raise ValueError(f'{list_file}: lists no image')
    return paths


def train_from_config(cfg, paths: Sequence, work_dir, resume: bool = True,
                      progress: bool = True, launcher: str = 'none') -> dict:
    """Seed, build ``cfg.model``, load ``paths``, train with ``cfg.train``; returns the log.

    With ``model.aspect='keep'`` the model's input size is set from the pool's median aspect
    ratio (:func:`median_aspect`, :func:`aspect_input_size`) before the images are loaded.
    ``cfg.custom_hooks`` and ``cfg.visualizer``, when given, go to the Runner
    (:func:`build_runner`).

    ``train.num_threads`` applies while training only; the caller's thread count is restored.
    """
    settings = TrainSettings(**dict(cfg.get('train', {})))
    threads = torch.get_num_threads()
    if settings.num_threads:
        torch.set_num_threads(int(settings.num_threads))
    try:
        torch.manual_seed(settings.seed)
        model = ANOMALY_MODELS.build(dict(cfg['model']))
        if not isinstance(model, SynthSeg):
            raise TypeError(f'{type(model).__name__} is not trained by this trainer '
                            '(SynthSeg only)')
        if model.aspect == 'keep':
            ratio = median_aspect(paths)
            model.set_input_size(aspect_input_size(model.input_size, (1.0, ratio)))
            logger.info('pool aspect %.3f (width / height): input size %s', ratio,
                        model.input_size)
        images, skipped = load_training_images(paths, model.input_size, progress)
        logger.info('%d training images (%d skipped)', len(images), len(skipped))
        return train_synthseg(model, images, work_dir, settings, resume=resume,
                              extra_log=dict(skipped=[dict(image=p, reason=r)
                                                      for p, r in skipped]),
                              custom_hooks=list(cfg.get('custom_hooks', [])),
                              visualizer=cfg.get('visualizer'), launcher=launcher, cfg=cfg)
    finally:
        torch.set_num_threads(threads)
