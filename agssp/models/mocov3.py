"""MoCo v3 with anomaly-map distillation from the first view's backbone output."""
from mmpretrain.models import MoCoV3
from mmpretrain.registry import MODELS

from agssp.models.distill_head import join_task_and_distill_losses
from agssp.registry import PRETRAIN_MODELS, register_into


@register_into(*PRETRAIN_MODELS)
class AnomalyDistillMoCoV3(MoCoV3):
    """Upstream MoCo v3 loss, plus distillation on the backbone output of the first view.

    The first view's backbone output is taken from upstream's own forward (a forward hook that
    keeps the output of the call whose input is ``inputs[0]``), so the backbone does not run a
    third time and upstream's loss is not re-implemented. The pipeline must keep the map
    aligned with the first view (``MultiViewWithMap``).
    """

    def __init__(self, distill_head: dict, **kwargs):
        super().__init__(**kwargs)
        self.distill_head = MODELS.build(distill_head)

    def distill_features(self, inputs):
        """The backbone output tuple of one view (outside training: for measuring alignment)."""
        return self.backbone(inputs)

    def loss(self, inputs, data_samples, **kwargs) -> dict:
        first_view = inputs[0]
        kept = []

        def keep_first_view(module, args, output):
            if not kept and args and args[0] is first_view:
                kept.append(output)

        handle = self.backbone.register_forward_hook(keep_first_view)
        try:
            moco_losses = super().loss(inputs, data_samples, **kwargs)
        finally:
            handle.remove()
        if not kept:
            raise RuntimeError('MoCo v3 never ran the backbone on the first view; '
                               'cannot distil the anomaly map')
        distill_losses = self.distill_head.loss(kept[0], data_samples)
        return join_task_and_distill_losses(moco_losses, distill_losses, 'moco')
