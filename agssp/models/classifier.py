"""An mmpretrain ImageClassifier that also distils anomaly maps into chosen backbone stages."""
from mmpretrain.models import ImageClassifier
from mmpretrain.registry import MODELS

from agssp.models.distill_head import join_task_and_distill_losses
from agssp.registry import PRETRAIN_MODELS, register_into


def reject_batch_augments(model):
    """Mixup / CutMix mix images but not their anomaly maps: refuse them with a clear message."""
    if getattr(model.data_preprocessor, 'batch_augments', None) is not None:
        raise ValueError(f'{type(model).__name__}: batch augments (Mixup, CutMix) mix the images '
                         'but not their anomaly maps; set model.train_cfg=None')


@register_into(*PRETRAIN_MODELS)
class AnomalyDistillClassifier(ImageClassifier):
    """Source-dataset classification plus :class:`AnomalyMapDistillHead` on the same forward.

    The backbone runs once; its output tuple feeds the neck + classification head and the
    distillation head. The classification weight is the head loss's ``loss_weight``.
    """

    def __init__(self, distill_head: dict, **kwargs):
        super().__init__(**kwargs)
        self.distill_head = MODELS.build(distill_head)
        reject_batch_augments(self)

    def distill_features(self, inputs):
        """The backbone output tuple the distillation head reads."""
        return self.backbone(inputs)

    def loss(self, inputs, data_samples) -> dict:
        feats = self.distill_features(inputs)
        cls_losses = self.head.loss(self.neck(feats) if self.with_neck else feats, data_samples)
        return join_task_and_distill_losses(
            cls_losses, self.distill_head.loss(feats, data_samples), 'cls')
