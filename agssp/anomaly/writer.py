"""The map writer every method shares: a folder of images in, one ``.npy`` map per image out.

* Work list: the sorted images under ``img_dir`` whose map is not yet in ``out_dir``; with
  several processes each rank takes ``todo[rank::world_size]`` (disjoint, no duplicate work).
* DataLoader workers decode and resize (:mod:`agssp.anomaly.image_input`); a corrupt image
  comes back as a marker with the reason, is journalled as skipped and the run goes on.
  Workers leave OpenCV's thread count alone: ``cv2.setNumThreads`` in a forked worker can
  deadlock on the thread pool inherited from the parent.
* Batched forward under ``torch.no_grad``; maps are saved as ``dtype`` (float16) with atomic
  writes (temporary file, then rename) on a few threads, so a killed run leaves no half file and
  a restart with the same arguments only does what is left. Leftover temporary files of a kill
  are removed at start.
* Class-aware methods (``class_aware = True``, e.g. KeAD) get the pool's classes, the
  first-level folders of the image paths (:func:`image_class`), through ``set_classes`` before
  the first batch, and each batch's classes as ``model(inputs, classes=...)``.
* ``manifest.json`` (see :mod:`agssp.anomaly.manifest`) lists what was written and skipped.
  The folder remembers the method's settings (``.generator.json``); resuming into a folder made
  with other settings is refused.
"""
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmengine import dist
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from agssp.anomaly.image_input import ImageReadError, read_rgb, to_model_input_uint8
from agssp.anomaly.manifest import RankJournal, merge_manifest, scan_map_folder
from agssp.compat import distributed_backend
from agssp.core.anomaly_maps import map_relpath
from agssp.core.fileio import atomic_save_npy, atomic_write_json
from agssp.core.images import IMAGE_SUFFIXES, list_images

logger = logging.getLogger('agssp')

SETTINGS_NAME = '.generator.json'
MAP_DTYPES = ('float16', 'float32')
SAVE_THREADS = 4


class MapFolderMismatch(RuntimeError):
    """The output folder holds maps made with other settings."""


class _ImageFolder(Dataset):
    """Images (relative paths) of a folder as uint8 model input (made float on the device), or
    the reason they cannot be read."""

    def __init__(self, img_dir, images: Sequence, input_size):
        self.img_dir = Path(img_dir)
        self.images = [str(rel) for rel in images]
        self.input_size = tuple(input_size)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        rel = self.images[index]
        try:
            rgb = read_rgb(self.img_dir / rel)
        except ImageReadError as exc:
            return dict(image=rel, error=exc.reason)
        return dict(image=rel, input=to_model_input_uint8(rgb, self.input_size),
                    hw=rgb.shape[:2])


def _collate(items):
    """A batch of readable images plus the list of (image, reason) that failed."""
    good = [it for it in items if 'error' not in it]
    return dict(images=[it['image'] for it in good], hws=[it['hw'] for it in good],
                inputs=torch.stack([it['input'] for it in good]) if good else None,
                failed=[(it['image'], it['error']) for it in items if 'error' in it])


def select_images(img_dir, suffixes: Optional[Sequence[str]] = None) -> List[str]:
    """Sorted image paths (posix, relative to ``img_dir``) with one of ``suffixes``."""
    suffixes = tuple(s.lower() for s in (suffixes or IMAGE_SUFFIXES))
    return [rel.as_posix() for rel in list_images(img_dir) if rel.suffix.lower() in suffixes]


def image_class(rel) -> str:
    """The class of an image: the first-level folder of its path under the image root, ``''``
    for an image directly in the root."""
    parts = Path(rel).parts
    return parts[0] if len(parts) > 1 else ''


def rank_share(todo: Sequence, rank: int, world_size: int) -> list:
    """The images rank ``rank`` of ``world_size`` does: every world_size-th, from ``rank``."""
    return list(todo[rank::world_size])


def init_distributed(launcher: str) -> None:
    """Start the process group for ``launcher`` ('none' does nothing); gloo without CUDA."""
    if launcher != 'none':
        dist.init_dist(launcher, backend=distributed_backend())


def _check_settings(out_dir: Path, settings: dict, write: bool) -> None:
    """Refuse a folder made with other settings; record them in a new one (rank 0)."""
    path = out_dir / SETTINGS_NAME
    if path.is_file():
        old = json.loads(path.read_text(encoding='utf-8'))
        if old != settings:
            raise MapFolderMismatch(
                f'{out_dir} holds maps made with other settings ({path}: {old}; now: '
                f'{settings}); use another --out-dir, or delete the folder to start over')
    elif write:
        atomic_write_json(path, settings, indent=1)


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=str))


def generate_anomaly_maps(model, img_dir, out_dir, *, batch_size: int = 8, num_workers: int = 2,
                          dtype: str = 'float16', suffixes: Optional[Sequence[str]] = None,
                          device='cpu', settings: Optional[dict] = None,
                          progress: bool = True) -> Optional[dict]:
    """Write the maps of every image under ``img_dir`` not yet in ``out_dir``.

    Call on every rank (after :func:`init_distributed`) with the same arguments. ``settings``
    (e.g. the config) identifies the method and goes into the manifest. Returns the manifest
    on rank 0 and None on other ranks.
    """
    if dtype not in MAP_DTYPES:
        raise ValueError(f'dtype must be one of {MAP_DTYPES}, got {dtype!r}')
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    img_dir, out_dir = Path(img_dir), Path(out_dir)
    rank, world_size = dist.get_dist_info()
    fingerprint = _jsonable(dict(model=type(model).__name__, input_size=list(model.input_size),
                                 dtype=dtype, settings=settings or {}))
    images = select_images(img_dir, suffixes)
    if getattr(model, 'class_aware', False):
        model.set_classes([image_class(rel) for rel in images])
    out_dir.mkdir(parents=True, exist_ok=True)
    _check_settings(out_dir, fingerprint, write=rank == 0)
    done, leftovers = scan_map_folder(out_dir)
    dist.barrier()  # every rank has scanned the folder before anyone writes or cleans
    if rank == 0:
        for tmp in leftovers:
            tmp.unlink(missing_ok=True)
    done = set(done)
    todo = [rel for rel in images if map_relpath(rel).as_posix() not in done]
    share = rank_share(todo, rank, world_size)
    if rank == 0:
        logger.info('%d images, %d maps already present, %d to do (%d per rank, %d ranks); '
                    '%d leftover temporary files removed', len(images), len(images) - len(todo),
                    len(todo), len(share), world_size, len(leftovers))
    started = time.time()
    journal = RankJournal(out_dir, rank)
    try:
        _write_share(model, img_dir, out_dir, share, journal, batch_size=batch_size,
                     num_workers=num_workers, dtype=np.dtype(dtype), device=device,
                     progress=progress and rank == 0)
    finally:
        journal.close()
    run = dict(ranks=world_size, seconds=round(time.time() - started, 3),
               written=journal.written, skipped=journal.skipped)
    runs = dist.all_gather_object(run) if world_size > 1 else [run]
    dist.barrier()
    if rank != 0:
        return None
    run = dict(ranks=world_size, seconds=max(r['seconds'] for r in runs),
               written=sum(r['written'] for r in runs), skipped=sum(r['skipped'] for r in runs),
               already_present=len(images) - len(todo))
    present, _ = scan_map_folder(out_dir)
    info = dict(model=type(model).__name__, img_dir=str(img_dir), dtype=dtype,
                settings=fingerprint['settings'])
    return merge_manifest(out_dir, images, present, info, run)


def _write_share(model, img_dir, out_dir, share, journal, *, batch_size, num_workers, dtype,
                 device, progress):
    """Forward the rank's share in batches and save the maps (see the module docstring)."""
    if not share:
        return
    model.eval()
    loader = DataLoader(
        _ImageFolder(img_dir, share, model.input_size), batch_size=batch_size, shuffle=False,
        num_workers=num_workers, collate_fn=_collate,
        pin_memory=torch.device(device).type == 'cuda')
    pending = []
    with ThreadPoolExecutor(SAVE_THREADS) as pool, \
            tqdm(total=len(share), unit='img', disable=not progress, dynamic_ncols=True) as bar:
        for batch in loader:
            for image, reason in batch['failed']:
                journal.image_skipped(image, reason)
            if batch['inputs'] is not None:
                extra = {}
                if getattr(model, 'class_aware', False):
                    extra['classes'] = [image_class(rel) for rel in batch['images']]
                with torch.no_grad():
                    out = model(batch['inputs'].to(device, non_blocking=True).float(), **extra)
                maps = out['anomaly_map'].detach().float().cpu().numpy()
                scores = out.get('image_score')
                scores = None if scores is None else scores.detach().float().cpu().numpy()
                if maps.ndim != 3 or maps.shape[0] != len(batch['images']):
                    raise ValueError(f'{type(model).__name__} returned anomaly_map of shape '
                                     f'{maps.shape} for {len(batch["images"])} images; '
                                     'expected (B, h, w)')
                for i, image in enumerate(batch['images']):
                    amap = maps[i].astype(dtype)
                    if not np.isfinite(amap).all():
                        journal.image_skipped(image, f'map has NaN or inf values as {dtype}')
                        continue
                    journal.map_written(image, batch['hws'][i], amap.shape,
                                        None if scores is None else scores[i])
                    pending.append(pool.submit(atomic_save_npy,
                                               out_dir / map_relpath(image), amap))
            while len(pending) > SAVE_THREADS * batch_size:
                pending.pop(0).result()
            bar.update(len(batch['images']) + len(batch['failed']))
        for future in pending:
            future.result()

