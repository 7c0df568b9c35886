"""Pseudo boxes for a whole image folder: the dataset-level threshold, per-image jobs, COCO export.

The export tool (``tools/anomaly_maps_to_coco.py``) and the on-the-fly dataset
(:class:`agssp.pseudo_boxes.dataset.PseudoBoxDataset`) both go through
:func:`resolve_threshold` and :func:`iter_image_boxes`, so they give the same boxes.

Maps mirror the images (:mod:`agssp.core.anomaly_maps`). The dataset-level threshold
(:func:`agssp.pseudo_boxes.thresholds.mean_max_thresholds`, per source or pooled) comes from
every map under the map folder (the map set): one streaming pass records each map's minimum and maximum,
cached in ``<maps>/.pseudo_box_threshold.json`` with a fingerprint of the map files (relative
paths, sizes, modification times), so a changed map set recomputes it.
"""
import contextlib
import hashlib
import json
import logging
import multiprocessing
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from agssp.core.anomaly_maps import AnomalyMapError, load_anomaly_map, map_relpath
from agssp.core.coco import CocoWriter
from agssp.core.errors import InputFileError
from agssp.core.fileio import atomic_write_json
from agssp.core.images import ImageIndex, ImageReadError, read_image_size
from agssp.pseudo_boxes.rule import PSEUDO_BOX_CLASS, box_cfg_with_defaults, map_to_boxes
from agssp.pseudo_boxes.thresholds import (POOL_GROUP, MapExtrema, image_threshold,
                                           is_dataset_level, map_source, mean_max_thresholds,
                                           threshold_cfg_with_defaults)

logger = logging.getLogger('agssp')

THRESHOLD_CACHE_NAME = '.pseudo_box_threshold.json'
_CACHE_VERSION = 2


class PseudoBoxInputError(InputFileError):
    """An image whose pseudo boxes cannot be made; names the file and the reason."""

    def __reduce__(self):  # pickled across worker processes
        return type(self), (self.path, self.reason)


def list_map_files(map_dir):
    """Sorted ``.npy`` paths under ``map_dir`` (recursively), relative, hidden ones left out."""
    map_dir = Path(map_dir)
    if not map_dir.is_dir():
        raise FileNotFoundError(f'map folder not found: {map_dir}')
    rels = (p.relative_to(map_dir) for p in map_dir.rglob('*.npy'))
    return sorted(r for r in rels if not any(part.startswith('.') for part in r.parts))


def map_set_fingerprint(map_dir, relpaths=None) -> str:
    """A hash of the map files' relative paths, sizes and modification times."""
    map_dir = Path(map_dir)
    digest = hashlib.sha1()
    for rel in list_map_files(map_dir) if relpaths is None else relpaths:
        st = (map_dir / rel).stat()
        digest.update(f'{rel.as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n'.encode())
    return digest.hexdigest()


def map_set_extrema(map_dir, relpaths=None, progress=False) -> dict:
    """One streaming pass over the map set: each map's minimum and maximum, per source.

    Unusable maps are left out, logged, and listed under ``failed``.
    """
    map_dir = Path(map_dir)
    relpaths = list_map_files(map_dir) if relpaths is None else relpaths
    extrema, failed = MapExtrema(), []
    for rel in tqdm(relpaths, desc='threshold pass', unit='map', disable=not progress):
        try:
            extrema.add(rel, load_anomaly_map(map_dir / rel))
        except AnomalyMapError as exc:
            logger.warning('left out of the dataset threshold: %s', exc)
            failed.append(dict(file=exc.path, reason=exc.reason))
    if extrema.count == 0:
        raise ValueError(f'no usable anomaly map under {map_dir} to compute the dataset-level '
                         f'threshold ({len(failed)} unusable)')
    return dict(extrema=extrema.to_dict(), n_maps=extrema.count, n_failed=len(failed),
                failed=failed)


def cached_map_set_extrema(map_dir, progress=False) -> dict:
    """:func:`map_set_extrema`, read from the cache beside the maps when it is current.

    The cache holds the per-map statistics, not a threshold: every threshold mode (group,
    scale, offset) is computed from it, so no mode can read another mode's value.
    """
    map_dir = Path(map_dir)
    relpaths = list_map_files(map_dir)
    fingerprint = map_set_fingerprint(map_dir, relpaths)
    cache_file = map_dir / THRESHOLD_CACHE_NAME
    if cache_file.is_file():
        try:
            cached = json.loads(cache_file.read_text())
        except (OSError, ValueError) as exc:
            logger.warning('ignoring unreadable threshold cache %s (%s)', cache_file, exc)
            cached = None
        if (isinstance(cached, dict) and cached.get('version') == _CACHE_VERSION
                and cached.get('fingerprint') == fingerprint):
            return dict(cached, cache_file=str(cache_file), from_cache=True)
    stats = map_set_extrema(map_dir, relpaths, progress=progress)
    record = dict(version=_CACHE_VERSION, statistic='each map minimum and maximum, per source',
                  fingerprint=fingerprint, **stats)
    try:
        atomic_write_json(cache_file, record)
    except OSError as exc:
        logger.warning('could not cache the map statistics in %s (%s); they will be '
                       'recomputed next time', cache_file, exc)
    return dict(record, cache_file=str(cache_file), from_cache=False)


def resolve_threshold(map_dir, threshold_cfg=None, use_cache=True, progress=False) -> dict:
    """The threshold plan for a map set: the full config and, if dataset-level, its values.

    Returns ``dict(cfg=..., value=float or None, ...)``. ``value`` is the one threshold of every
    image (``group='pool'``), ``None`` for per-image or per-source thresholds. For ``mean_max``
    the plan adds ``by_source`` (threshold per source), ``scale`` (the one used), ``groups``
    (:func:`agssp.pseudo_boxes.thresholds.mean_max_thresholds`), ``n_maps``, ``n_failed``,
    ``failed`` and ``from_cache``.
    """
    cfg = threshold_cfg_with_defaults(threshold_cfg)
    if not is_dataset_level(cfg):
        return dict(cfg=cfg, value=None)
    stats = (cached_map_set_extrema(map_dir, progress) if use_cache
             else map_set_extrema(map_dir, progress=progress))
    rule = mean_max_thresholds(MapExtrema(**stats['extrema']), cfg['offset'], cfg['group'],
                               cfg['scale'])
    value = rule['groups'][POOL_GROUP]['threshold'] if cfg['group'] == 'pool' else None
    info = {k: v for k, v in stats.items()
            if k in ('n_maps', 'n_failed', 'failed', 'from_cache', 'cache_file')}
    return dict(cfg=cfg, value=value, **rule, **info)


def threshold_of(plan, relpath):
    """The dataset-level threshold of the image at ``relpath`` under ``plan`` (None if per
    image); ``KeyError`` when its source has no usable map."""
    if plan['value'] is not None or 'by_source' not in plan:
        return plan['value']
    source = map_source(relpath)
    if source not in plan['by_source']:
        raise KeyError(f'source {source!r} has no usable map, so no threshold')
    return plan['by_source'][source]


def image_boxes(img_path, map_path, threshold_cfg, dataset_value=None, box_cfg=None) -> dict:
    """Pseudo boxes of one image: ``dict(height, width, threshold, boxes, scores)``.

    Raises :class:`PseudoBoxInputError` for an unreadable image or an unusable map.
    """
    try:
        height, width = read_image_size(img_path)
    except ImageReadError as exc:
        raise PseudoBoxInputError(exc.path, exc.reason) from exc
    try:
        amap = load_anomaly_map(map_path)
    except AnomalyMapError as exc:
        raise PseudoBoxInputError(exc.path, exc.reason) from exc
    threshold = image_threshold(amap, threshold_cfg, dataset_value)
    boxes, scores = map_to_boxes(amap, (height, width), threshold, **box_cfg_with_defaults(box_cfg))
    return dict(height=height, width=width, threshold=threshold, boxes=boxes, scores=scores)


def _run_job(relpath, job):
    """``(relpath, result or PseudoBoxInputError)`` for one image under the job settings."""
    map_path = job['map_dir'] / map_relpath(relpath)
    try:
        dataset_value = threshold_of(job['threshold'], relpath)
    except KeyError as exc:
        return relpath, PseudoBoxInputError(map_path, exc.args[0])
    try:
        return relpath, image_boxes(job['img_dir'] / relpath, map_path,
                                    job['threshold']['cfg'], dataset_value, job['box_cfg'])
    except PseudoBoxInputError as exc:
        return relpath, exc


# A pool worker's job settings, set once by the pool initializer instead of pickled per task.
_WORKER_JOB = {}


def _init_worker(job):
    torch.set_num_threads(1)
    _WORKER_JOB.update(job)


def _run_worker_job(relpath):
    return _run_job(relpath, _WORKER_JOB)


def iter_image_boxes(img_dir, map_dir, relpaths, threshold, box_cfg=None, workers=1,
                     chunksize=None, progress=False):
    """Yield ``(relpath, result)`` in input order, ``result`` from :func:`image_boxes` or the
    :class:`PseudoBoxInputError` that stopped it.

    ``threshold`` is the plan from :func:`resolve_threshold`. ``workers > 1`` runs the images in
    a process pool (forked, one thread each); ``workers == 1`` runs them in this process.
    """
    relpaths = [Path(r) for r in relpaths]
    job = dict(img_dir=Path(img_dir), map_dir=Path(map_dir),
               threshold={k: threshold[k] for k in ('cfg', 'value', 'by_source') if k in threshold},
               box_cfg=box_cfg_with_defaults(box_cfg))
    bar = tqdm(total=len(relpaths), desc='pseudo boxes', unit='img', disable=not progress)
    with bar:
        if workers <= 1 or len(relpaths) < 2:
            for rel in relpaths:
                yield _run_job(rel, job)
                bar.update()
            return
        if chunksize is None:
            chunksize = max(1, min(64, len(relpaths) // (workers * 8)))
        ctx = multiprocessing.get_context('fork')
        with _cv2_single_threaded(), ctx.Pool(workers, initializer=_init_worker,
                                              initargs=(job,)) as pool:
            for item in pool.imap(_run_worker_job, relpaths, chunksize=chunksize):
                yield item
                bar.update()


@contextlib.contextmanager
def _cv2_single_threaded():
    """Stop OpenCV's thread pool while worker processes are forked from this one.

    A forked child inherits the pool's locks but not its threads; touching the pool there
    (even ``cv2.setNumThreads``) can block forever. With one thread, the children never use it.
    """
    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


def list_image_relpaths(img_dir, exclude_suffixes=()):
    """Sorted image paths under ``img_dir`` relative to it, without the excluded suffixes."""
    return ImageIndex(img_dir, exclude_suffixes=exclude_suffixes).relpaths


def export_pseudo_boxes_coco(img_dir, map_dir, out_file, threshold_cfg=None, box_cfg=None,
                             workers=1, exclude_suffixes=(), use_cache=True, progress=False):
    """Write the pseudo boxes of every image under ``img_dir`` as one COCO json.

    Images without boxes are kept; unusable inputs are skipped, logged and listed. Next to
    ``out_file`` go ``<stem>.skipped.json`` (when something was skipped) and
    ``<stem>.summary.json``. Returns ``(summary, writer)``.
    """
    start = time.perf_counter()
    img_dir, map_dir, out_file = Path(img_dir), Path(map_dir), Path(out_file)
    threshold = resolve_threshold(map_dir, threshold_cfg, use_cache=use_cache, progress=progress)
    box_cfg = box_cfg_with_defaults(box_cfg)
    relpaths = list_image_relpaths(img_dir, exclude_suffixes)
    writer = CocoWriter([PSEUDO_BOX_CLASS])
    for rel, result in iter_image_boxes(img_dir, map_dir, relpaths, threshold, box_cfg,
                                        workers=workers, progress=progress):
        if isinstance(result, PseudoBoxInputError):
            writer.skip(result.path, result.reason)
            continue
        image_id = writer.add_image(rel.as_posix(), result['height'], result['width'],
                                    threshold=float(result['threshold']))
        for box, score in zip(result['boxes'], result['scores']):
            writer.add_box(image_id, PSEUDO_BOX_CLASS, *box.tolist(), score=float(score))
    writer.dump(out_file)
    summary = dict(writer.summary(), img_dir=str(img_dir), map_dir=str(map_dir),
                   out=str(out_file), threshold=_threshold_record(threshold), box_cfg=box_cfg,
                   workers=int(workers), seconds=round(time.perf_counter() - start, 3),
                   skipped_inputs=writer.skipped)
    atomic_write_json(out_file.with_name(out_file.stem + '.summary.json'), summary, indent=1)
    return summary, writer


def coco_by_source(coco: dict) -> dict:
    """``{source: COCO dict}``: the images of each source (first-level folder of
    ``file_name``, :func:`agssp.pseudo_boxes.thresholds.map_source`) with their annotations."""
    images = {}
    for image in coco['images']:
        images.setdefault(map_source(image['file_name']), []).append(image)
    out = {}
    for source, members in sorted(images.items()):
        ids = {im['id'] for im in members}
        out[source] = dict(coco, images=members,
                           annotations=[a for a in coco['annotations'] if a['image_id'] in ids])
    return out


def _threshold_record(threshold) -> dict:
    """The JSON-safe part of a threshold plan, for summaries."""
    keys = ('cfg', 'value', 'scale', 'by_source', 'groups', 'n_maps', 'n_failed', 'failed',
            'from_cache', 'cache_file')
    return {k: (float(v) if isinstance(v, np.floating) else v)
            for k, v in threshold.items() if k in keys}
