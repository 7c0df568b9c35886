"""Building an anomaly-map method from a config: model, optional checkpoint, reference images.

Config keys: ``model=dict(type=...)`` (a name in ``agssp.registry.ANOMALY_MODELS``),
``checkpoint=None`` (a state dict file loaded with ``weights_only=True``; a dict holding
``state_dict`` is unwrapped), ``reference_dir=None`` and ``reference_images=None`` (few-shot
methods: ``model.fit`` receives that many images of the folder, evenly spaced over its sorted
list; None takes them all), ``reference_suffixes=None`` (the image suffixes taken from
``reference_dir``, e.g. ``['.jpg']`` where masks lie beside the images as ``.png``; None: every
image suffix). Class-aware methods (KeAD) get that many images of each class, the first-level
folders of ``reference_dir`` (``''``: images directly in it), with their classes.
"""
import logging
from pathlib import Path

import numpy as np
import torch

from agssp.anomaly.base import AnomalyMapModel
from agssp.anomaly.image_input import load_model_input
from agssp.anomaly.registry import ANOMALY_MODELS
from agssp.anomaly.writer import image_class
from agssp.core.images import list_images

logger = logging.getLogger('agssp')


def load_state_dict_file(model: torch.nn.Module, path) -> None:
    """Load a state dict file into ``model`` (strict), with safe unpickling."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'checkpoint not found: {path}')
    state = torch.load(path, map_location='cpu', weights_only=True)
    if isinstance(state, dict) and 'state_dict' in state:
        state = state['state_dict']
    model.load_state_dict(state, strict=True)


def reference_images(reference_dir, suffixes=None) -> list:
    """The sorted image paths of ``reference_dir`` (relative), only ``suffixes`` when given."""
    images = list_images(reference_dir)
    if suffixes is not None:
        wanted = {s.lower() for s in suffixes}
        images = [rel for rel in images if rel.suffix.lower() in wanted]
    return images


def reference_paths(reference_dir, count=None, suffixes=None):
    """``count`` images of ``reference_dir``, evenly spaced over its sorted list (all if None);
    only ``suffixes`` when given."""
    reference_dir = Path(reference_dir)
    images = reference_images(reference_dir, suffixes)
    if not images:
        raise FileNotFoundError(f'no reference images in {reference_dir}')
    if count is not None and count > len(images):
        raise ValueError(f'reference_images={count} but {reference_dir} holds only '
                         f'{len(images)} images')
    return [reference_dir / rel for rel in evenly_spaced(images, count)]


def reference_paths_by_class(reference_dir, count=None, suffixes=None):
    """Per class (see :func:`image_class`), ``count`` images of ``reference_dir`` evenly spaced
    over the class's sorted list (all if None), as (paths, classes); only ``suffixes`` when
    given."""
    reference_dir = Path(reference_dir)
    groups = {}
    for rel in reference_images(reference_dir, suffixes):
        groups.setdefault(image_class(rel), []).append(rel)
    if not groups:
        raise FileNotFoundError(f'no reference images in {reference_dir}')
    paths, classes = [], []
    for name, images in groups.items():
        if count is not None and count > len(images):
            raise ValueError(f'reference_images={count} but class {name!r} of {reference_dir} '
                             f'holds only {len(images)} images')
        chosen = evenly_spaced(images, count)
        paths += [reference_dir / rel for rel in chosen]
        classes += [name] * len(chosen)
    return paths, classes


def evenly_spaced(items, count=None):
    """``count`` items evenly spaced over ``items`` (all if None)."""
    if count is None:
        return list(items)
    if count < 1:
        raise ValueError(f'reference_images must be >= 1, got {count}')
    return [items[i] for i in np.linspace(0, len(items) - 1, count).round().astype(int)]


def build_anomaly_model(cfg, device='cpu') -> AnomalyMapModel:
    """The config's method on ``device`` in eval mode, checkpoint loaded and references fitted."""
    model = ANOMALY_MODELS.build(cfg['model'])
    if not isinstance(model, AnomalyMapModel):
        raise TypeError(f'{type(model).__name__} is not an AnomalyMapModel')
    if cfg.get('checkpoint'):
        load_state_dict_file(model, cfg['checkpoint'])
    model.to(device).eval()
    if cfg.get('reference_dir'):
        fit_args = {}
        if getattr(model, 'class_aware', False):
            paths, fit_args['classes'] = reference_paths_by_class(
                cfg['reference_dir'], cfg.get('reference_images'), cfg.get('reference_suffixes'))
        else:
            paths = reference_paths(cfg['reference_dir'], cfg.get('reference_images'),
                                    cfg.get('reference_suffixes'))
        logger.info('fitting %s on %d reference images from %s', type(model).__name__,
                    len(paths), cfg['reference_dir'])
        images = torch.stack([load_model_input(p, model.input_size) for p in paths])
        with torch.no_grad():
            model.fit(images.to(device), **fit_args)
    elif cfg.get('reference_images') or cfg.get('reference_suffixes'):
        raise ValueError('reference_images or reference_suffixes is set but reference_dir is '
                         'not')
    return model
