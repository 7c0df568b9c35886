"""AGBP models: anomaly-map distillation for mmpretrain classifiers, SimMIM and MoCo v3."""
from agssp.models.activation import resize_target, stage_activation
from agssp.models.classifier import AnomalyDistillClassifier
from agssp.models.distill_head import AnomalyMapDistillHead
from agssp.models.losses import AnomalyMapDistillLoss, map_cosine, per_sample_distill_loss
from agssp.models.mocov3 import AnomalyDistillMoCoV3
from agssp.models.simmim import AnomalyDistillSimMIM

__all__ = ['AnomalyDistillClassifier', 'AnomalyDistillMoCoV3', 'AnomalyDistillSimMIM',
           'AnomalyMapDistillHead', 'AnomalyMapDistillLoss', 'map_cosine',
           'per_sample_distill_loss', 'resize_target', 'stage_activation']
