"""Frozen stages are only meaningful on pretrained weights: find configs that freeze random ones."""
import logging
from typing import Optional

from mmengine.logging import print_log


def _names_pretrained(init_cfg) -> bool:
    """Whether an ``init_cfg`` (dict or list of dicts) loads a checkpoint."""
    entries = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    return any(isinstance(e, dict) and e.get('type') == 'Pretrained' and e.get('checkpoint')
               for e in entries)


def frozen_on_random_weights(cfg) -> Optional[str]:
    """Why ``cfg`` freezes backbone stages that no checkpoint initialises, or None.

    A stage is frozen when ``model.backbone.frozen_stages >= 0`` (mmpretrain, mmdet and mmyolo
    backbones: 0 freezes the stem / patch embedding and, for Swin, stage 0). Weights come from
    the backbone's or the model's ``init_cfg`` of type ``Pretrained``, the backbone's
    ``pretrained``, ``load_from`` or a resumed run.
    """
    model = cfg.get('model') or {}
    backbone = model.get('backbone') or {}
    frozen = backbone.get('frozen_stages')
    if frozen is None or frozen < 0:
        return None
    if (_names_pretrained(backbone.get('init_cfg')) or backbone.get('pretrained')
            or _names_pretrained(model.get('init_cfg')) or cfg.get('load_from')
            or cfg.get('resume')):
        return None
    return (f'model.backbone.frozen_stages={frozen} freezes the early stages of a randomly '
            'initialised backbone (no init_cfg Pretrained checkpoint, pretrained or '
            'load_from): those stages will only feed fixed random features forward. Name the '
            'pretrained weights (e.g. --cfg-options load_from=CKPT, or '
            'model.backbone.init_cfg.type=Pretrained model.backbone.init_cfg.checkpoint=CKPT) '
            'or unfreeze them with model.backbone.frozen_stages=-1.')


def warn_if_frozen_on_random_weights(cfg) -> Optional[str]:
    """Log :func:`frozen_on_random_weights`'s reason at WARNING level; return it."""
    reason = frozen_on_random_weights(cfg)
    if reason:
        print_log(f'WARNING: {reason}', logger='current', level=logging.WARNING)
    return reason
