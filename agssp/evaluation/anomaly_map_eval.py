"""Evaluating a folder of anomaly maps against pixel masks (see :mod:`anomaly_metrics`).

Images are those under ``img_dir`` (filtered by suffix); an image's class is its first folder
(``all`` for images at the top). The mask of ``<rel>/x.jpg`` is ``<mask_root>/<rel>/x<suffix>``
read as ``grey > 127``; for Magnetic Tile the mask root is the image folder and the suffix
``.png`` (``x.png`` beside ``x.jpg``). An image without a mask file is defect-free. Images
whose map is missing or unusable, and unreadable masks, are counted and listed, never dropped
silently.
"""
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
from tqdm import tqdm

from agssp.anomaly.writer import select_images
from agssp.core.anomaly_maps import AnomalyMapError, load_anomaly_map, map_relpath
from agssp.core.images import ImageReadError, read_image_size, read_mask
from agssp.evaluation.anomaly_metrics import DEFAULT_MAX_PIXELS, AnomalyMetricAccumulator

logger = logging.getLogger('agssp')

MASK_THRESHOLD = 127
LOGGED_PROBLEMS = 10
MAGNETIC_TILE = dict(masks='magnetic-tile', mask_suffix='.png', suffixes=('.jpg',),
                     normal_class='MT_Free')


def image_class(rel) -> str:
    """The class of an image: its first folder, or ``all``."""
    parts = Path(rel).parts
    return parts[0] if len(parts) > 1 else 'all'


def mask_path(rel, mask_root, mask_suffix='.png') -> Path:
    """Where the mask of image ``rel`` lives."""
    rel = Path(rel)
    return Path(mask_root) / rel.parent / (rel.stem + mask_suffix)


def read_binary_mask(path) -> np.ndarray:
    """A mask file as a boolean array (grey > 127)."""
    return read_mask(path) > MASK_THRESHOLD


def load_manifest_scores(maps_dir) -> Dict[str, float]:
    """Image scores the generator recorded in ``<maps_dir>/manifest.json``."""
    path = Path(maps_dir) / 'manifest.json'
    if not path.is_file():
        raise FileNotFoundError(f'{path}: no manifest, so no image scores to use')
    written = json.loads(path.read_text(encoding='utf-8'))['written']
    return {w['image']: w['score'] for w in written if w.get('score') is not None}


@dataclass
class MapEvaluation:
    """Metrics plus what could not be evaluated and a few images per class for overlays."""
    results: dict
    problems: List[dict] = field(default_factory=list)
    without_mask: int = 0
    samples: Dict[str, List[str]] = field(default_factory=dict)
    value_range: tuple = (0.0, 1.0)  # colour scale of overlays: lowest value, 99th pct of maxima


def _pick_samples(images: List[str], anomalous: Dict[str, bool], per_class: int):
    """Per class, up to ``per_class`` images evenly spaced over its anomalous ones (or all)."""
    by_class = {}
    for rel in images:
        by_class.setdefault(image_class(rel), []).append(rel)
    samples = {}
    for cls, rels in by_class.items():
        pool = [r for r in rels if anomalous[r]] or rels
        idx = np.unique(np.linspace(0, len(pool) - 1, min(per_class, len(pool))).round())
        samples[cls] = [pool[int(i)] for i in idx] if per_class > 0 else []
    return samples


def evaluate_map_folder(maps_dir, img_dir, mask_root, *, mask_suffix='.png',
                        suffixes: Optional[Sequence[str]] = None, normal_class=None,
                        scores: Optional[Dict[str, float]] = None, max_fpr=0.3,
                        max_pixels: Optional[int] = DEFAULT_MAX_PIXELS, samples_per_class=3,
                        progress=False) -> MapEvaluation:
    """Evaluate the maps of every image under ``img_dir`` (see the module docstring)."""
    images = select_images(img_dir, suffixes)
    if not images:
        raise FileNotFoundError(f'no images with suffixes {suffixes} under {img_dir}')
    acc = AnomalyMetricAccumulator(max_fpr=max_fpr, max_pixels=max_pixels,
                                   normal_class=normal_class)
    problems, evaluated, anomalous = [], [], {}
    without_mask, low, maxima = 0, np.inf, []
    for rel in tqdm(images, unit='img', disable=not progress, dynamic_ncols=True):
        try:
            amap = load_anomaly_map(Path(maps_dir) / map_relpath(rel))
            mpath = mask_path(rel, mask_root, mask_suffix)
            if mpath.is_file():
                mask = read_binary_mask(mpath)
            else:
                mask = np.zeros(read_image_size(Path(img_dir) / rel), bool)
                without_mask += 1
            if scores is not None and rel not in scores:
                raise KeyError(f'{rel}: no image score in the manifest')
        except (AnomalyMapError, ImageReadError, KeyError) as exc:
            problems.append(dict(image=rel, reason=str(exc)))
            if len(problems) <= LOGGED_PROBLEMS:
                logger.warning('not evaluated: %s', exc)
            continue
        acc.add(amap, mask, rel, cls=image_class(rel),
                score=None if scores is None else scores[rel])
        evaluated.append(rel)
        anomalous[rel] = bool(mask.any())
        low = min(low, float(amap.min()))
        maxima.append(float(amap.max()))
    if len(problems) > LOGGED_PROBLEMS:
        logger.warning('%d images not evaluated in all (%d logged above)', len(problems),
                       LOGGED_PROBLEMS)
    if not evaluated:
        raise RuntimeError(f'no image could be evaluated ({len(problems)} problems, first: '
                           f'{problems[0]["reason"] if problems else "-"})')
    results = acc.compute()
    results['settings'].update(images_without_mask=without_mask, not_evaluated=len(problems))
    return MapEvaluation(results=results, problems=problems, without_mask=without_mask,
                         samples=_pick_samples(evaluated, anomalous, samples_per_class),
                         value_range=(low, float(np.percentile(maxima, 99))))
