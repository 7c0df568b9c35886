"""Registering one agssp class into several OpenMMLab scopes at once.

mmdet, mmyolo, mmpretrain and mmseg each keep their own registries; a config resolves names in
its ``default_scope``. agssp's datasets and transforms serve several of them, so they are
registered into each scope that uses them, under the same name.
"""
from mmdet.registry import DATASETS as MMDET_DATASETS
from mmdet.registry import METRICS as MMDET_METRICS
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.registry import TRANSFORMS as MMDET_TRANSFORMS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmpretrain.registry import DATASETS as MMPRETRAIN_DATASETS
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from mmpretrain.registry import TRANSFORMS as MMPRETRAIN_TRANSFORMS
from mmyolo.registry import DATASETS as MMYOLO_DATASETS
from mmyolo.registry import MODELS as MMYOLO_MODELS
from mmyolo.registry import TRANSFORMS as MMYOLO_TRANSFORMS

DETECTION_DATASETS = (MMDET_DATASETS, MMYOLO_DATASETS)
DETECTION_TRANSFORMS = (MMDET_TRANSFORMS, MMYOLO_TRANSFORMS)
ALL_TRANSFORMS = (MMDET_TRANSFORMS, MMYOLO_TRANSFORMS, MMPRETRAIN_TRANSFORMS)
PRETRAIN_DATASETS = (MMPRETRAIN_DATASETS,)
PRETRAIN_MODELS = (MMPRETRAIN_MODELS,)
DETECTION_MODELS = (MMDET_MODELS, MMYOLO_MODELS)
METRICS = (MMDET_METRICS,)
HOOKS = (MMENGINE_HOOKS,)


def register_into(*registries):
    """Class decorator: register the class into every registry given (same name in each)."""
    def wrap(cls):
        for registry in registries:
            registry.register_module(module=cls, force=False)
        return cls
    return wrap
