"""Building an anomaly-map method from a config: model, optional checkpoint, reference images.

Config keys: ``model=dict(type=...)`` (a name in ``agssp.registry.ANOMALY_MODELS``),
``checkpoint=None`` (a state dict file loaded with ``weights_only=True``; a dict holding
``state_dict`` is unwrapped), ``reference_dir=None`` and ``reference_images=None`` (few-shot
methods: ``model.fit`` receives that many images of the folder, evenly spaced over its sorted
list; None takes them all).
"""
import logging
from pathlib import Path

import numpy as np
import torch

from agssp.anomaly.base import AnomalyMapModel
from agssp.anomaly.image_input import load_model_input
from agssp.anomaly.maps_io import list_images
from agssp.registry import ANOMALY_MODELS

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


def reference_paths(reference_dir, count=None):
    """``count`` images of ``reference_dir``, evenly spaced over its sorted list (all if None)."""
    reference_dir = Path(reference_dir)
    images = list_images(reference_dir)
    if not images:
        raise FileNotFoundError(f'no reference images in {reference_dir}')
    if count is not None:
        if count < 1:
            raise ValueError(f'reference_images must be >= 1, got {count}')
        if count > len(images):
            raise ValueError(f'reference_images={count} but {reference_dir} holds only '
                             f'{len(images)} images')
        images = [images[i] for i in np.linspace(0, len(images) - 1, count).round().astype(int)]
    return [reference_dir / rel for rel in images]


def build_anomaly_model(cfg, device='cpu') -> AnomalyMapModel:
    """The config's method on ``device`` in eval mode, checkpoint loaded and references fitted."""
    model = ANOMALY_MODELS.build(cfg['model'])
    if not isinstance(model, AnomalyMapModel):
        raise TypeError(f'{type(model).__name__} is not an AnomalyMapModel')
    if cfg.get('checkpoint'):
        load_state_dict_file(model, cfg['checkpoint'])
    model.to(device).eval()
    if cfg.get('reference_dir'):
        paths = reference_paths(cfg['reference_dir'], cfg.get('reference_images'))
        logger.info('fitting %s on %d reference images from %s', type(model).__name__,
                    len(paths), cfg['reference_dir'])
        images = torch.stack([load_model_input(p, model.input_size) for p in paths])
        with torch.no_grad():
            model.fit(images.to(device))
    elif cfg.get('reference_images'):
        raise ValueError('reference_images is set but reference_dir is not')
    return model
