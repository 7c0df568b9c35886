"""Training SynthSeg on a pool of unlabelled images: synthetic defects, segmentation loss,
then the Gaussian memories and score normalisation (``model.fit``).

Deterministic and resumable: the model is initialised from ``seed``; the batch of iteration
``i`` (images, flips, synthetic defects) depends only on ``(seed, i)``; the learning rate is a
function of ``i``. The training state is saved atomically every ``checkpoint_interval``
iterations to ``<work_dir>/train_state.pth`` and a restarted run continues from it. The
finished model (network, memories, normalisation) is ``<work_dir>/synthseg.pth``, a state dict
that ``checkpoint=`` in an anomaly-map config loads; ``train_log.json`` and ``loss_curve.png``
record the run.
"""
import io
import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from agssp.anomaly.image_input import ImageReadError, load_model_input
from agssp.anomaly.synthseg.losses import segmentation_loss
from agssp.anomaly.synthseg.model import SynthSeg, aspect_input_size, standardised_grey
from agssp.anomaly.synthseg.synthetic import SyntheticDefects
from agssp.core.fileio import atomic_write_bytes, atomic_write_json
from agssp.anomaly.registry import ANOMALY_MODELS

logger = logging.getLogger('agssp')

STATE_FILE = 'train_state.pth'
MODEL_FILE = 'synthseg.pth'
LOG_FILE = 'train_log.json'
CURVE_FILE = 'loss_curve.png'


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


def learning_rate(settings: TrainSettings, iteration: int) -> float:
    """Linear warm-up, then cosine decay to 1% of ``lr``."""
    warmup = max(1, int(settings.warmup_ratio * settings.iterations))
    if iteration < warmup:
        return settings.lr * (iteration + 1) / warmup
    t = (iteration - warmup) / max(1, settings.iterations - warmup)
    return settings.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * t)))


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


def synthetic_batch(images: np.ndarray, iteration: int, settings: TrainSettings,
                    defects: SyntheticDefects,
                    out_stride: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Network input (B, 1, H, W) and soft target (B, 1, H/s, W/s) of one iteration."""
    rng = np.random.default_rng([settings.seed, iteration])
    picks = rng.choice(len(images), settings.batch_size, replace=len(images) < settings.batch_size)
    inputs, masks = [], []
    for index in picks:
        image = images[index].astype(np.float32)
        if rng.random() < 0.5:
            image = image[:, ::-1]
        if rng.random() < 0.5:
            image = image[::-1]
        changed, mask = defects(np.ascontiguousarray(image), rng, images)
        inputs.append(changed)
        masks.append(mask)
    x = standardised_grey(torch.from_numpy(np.stack(inputs))[:, None])
    target = F.avg_pool2d(torch.from_numpy(np.stack(masks)).float()[:, None], out_stride)
    return x, target


def _save_torch(path: Path, obj) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def _save_curve(path: Path, losses: List[float]) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3), dpi=100)
    steps = np.arange(1, len(losses) + 1)
    ax.plot(steps, losses, lw=0.6, alpha=0.4, label='iteration')
    window = max(1, len(losses) // 30)
    smooth = np.convolve(losses, np.ones(window) / window, mode='valid')
    ax.plot(steps[window - 1:], smooth, lw=1.5, label=f'mean of {window}')
    ax.set_xlabel('iteration')
    ax.set_ylabel('loss')
    ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format='png')
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


BOOKKEEPING = ('num_threads', 'checkpoint_interval', 'log_interval')


def _state_key(settings: TrainSettings, net: torch.nn.Module, num_images: int) -> dict:
    """What a saved training state must match to be resumed: the settings that shape training,
    the network's parameter shapes and the number of images."""
    shaping = {k: v for k, v in asdict(settings).items() if k not in BOOKKEEPING}
    shapes = {name: list(p.shape) for name, p in net.state_dict().items()}
    return dict(settings=shaping, net=shapes, num_images=int(num_images))


def train_synthseg(model: SynthSeg, images: np.ndarray, work_dir, settings: TrainSettings,
                   resume: bool = True, progress: bool = True, extra_log: Optional[dict] = None
                   ) -> dict:
    """Train ``model`` on grey uint8 ``images`` (N, H, W), fit it, save it; returns the log."""
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    if images.shape[1:] != tuple(model.input_size):
        raise ValueError(f'images are {images.shape[1:]}, the model expects {model.input_size}')
    defects = SyntheticDefects(**settings.synthetic)
    net = model.net
    optimizer = torch.optim.AdamW(net.parameters(), lr=settings.lr,
                                  weight_decay=settings.weight_decay)
    key = _state_key(settings, net, len(images))
    start, losses, seconds, cpu_seconds = 0, [], 0.0, 0.0
    state_path = work_dir / STATE_FILE
    if resume and state_path.is_file():
        state = torch.load(state_path, map_location='cpu', weights_only=True)
        if state['key'] != key:
            raise ValueError(f'{state_path}: saved for other settings or images; remove it or '
                             'train into another work dir')
        net.load_state_dict(state['net'])
        optimizer.load_state_dict(state['optimizer'])
        start, losses = state['iteration'], list(state['losses'])
        seconds, cpu_seconds = state['seconds'], state['cpu_seconds']
        logger.info('resumed from %s at iteration %d', state_path, start)
    net.train()
    began = time.perf_counter() - seconds
    cpu_began = time.process_time() - cpu_seconds
    bar = tqdm(range(start, settings.iterations), initial=start, total=settings.iterations,
               desc='training', unit='it', disable=not progress, dynamic_ncols=True)
    for iteration in bar:
        x, target = synthetic_batch(images, iteration, settings, defects, net.out_stride)
        for group in optimizer.param_groups:
            group['lr'] = learning_rate(settings, iteration)
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=settings.bf16):
            logits = net(x)['logits']
        loss = segmentation_loss(logits.float(), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        bar.set_postfix(loss=f'{np.mean(losses[-settings.log_interval:]):.3f}')
        done = iteration + 1
        if done % settings.log_interval == 0:
            logger.info('iteration %d/%d loss %.4f', done, settings.iterations,
                        np.mean(losses[-settings.log_interval:]))
        if done % settings.checkpoint_interval == 0 or done == settings.iterations:
            _save_torch(state_path, dict(key=key, net=net.state_dict(),
                                         optimizer=optimizer.state_dict(), iteration=done,
                                         losses=losses, seconds=time.perf_counter() - began,
                                         cpu_seconds=time.process_time() - cpu_began))
    train_seconds = time.perf_counter() - began
    fit_began = time.perf_counter()
    model.eval()
    model.fit(torch.from_numpy(images)[:, None])
    fit_seconds = time.perf_counter() - fit_began
    cpu_seconds = time.process_time() - cpu_began
    _save_torch(work_dir / MODEL_FILE, model.state_dict())
    log = dict(settings=asdict(settings), images=int(len(images)), iterations=len(losses),
               train_seconds=round(train_seconds, 1), fit_seconds=round(fit_seconds, 1),
               total_seconds=round(train_seconds + fit_seconds, 1),
               cpu_seconds=round(cpu_seconds, 1), threads=torch.get_num_threads(),
               final_loss=float(np.mean(losses[-settings.log_interval:])), losses=losses,
               score_centre=model.score_centre.tolist(), score_scale=model.score_scale.tolist(),
               model=model.settings(), **(extra_log or {}))
    atomic_write_json(work_dir / LOG_FILE, log, indent=1)
    _save_curve(work_dir / CURVE_FILE, losses)
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
                      progress: bool = True) -> dict:
    """Seed, build ``cfg.model``, load ``paths``, train with ``cfg.train``; returns the log.

    With ``model.aspect='keep'`` the model's input size is set from the pool's median aspect
    ratio (:func:`median_aspect`, :func:`aspect_input_size`) before the images are loaded.

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
                              progress=progress,
                              extra_log=dict(skipped=[dict(image=p, reason=r)
                                                      for p, r in skipped]))
    finally:
        torch.set_num_threads(threads)
