"""SimMIM with anomaly-map distillation."""
from mmpretrain.models import SimMIM
from mmpretrain.registry import MODELS

from agssp.models.distill_head import join_task_and_distill_losses
from agssp.registry import PRETRAIN_MODELS, register_into


@register_into(*PRETRAIN_MODELS)
class AnomalyDistillSimMIM(SimMIM):
    """Upstream SimMIM's reconstruction loss on the masked forward, plus distillation of the
    anomaly map on an unmasked forward of the same batch (the backbone called with no mask)."""

    def __init__(self, distill_head: dict, **kwargs):
        super().__init__(**kwargs)
        self.distill_head = MODELS.build(distill_head)

    def distill_features(self, inputs):
        """The backbone output tuple of the unmasked images (the distilled forward)."""
        return self.backbone(inputs, None)

    def loss(self, inputs, data_samples, **kwargs) -> dict:
        mim_losses = super().loss(inputs, data_samples, **kwargs)
        distill_losses = self.distill_head.loss(self.distill_features(inputs), data_samples)
        return join_task_and_distill_losses(mim_losses, distill_losses, 'mim')
