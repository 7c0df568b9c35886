"""SynthSeg as an mmengine ``BaseModel``: the segmentation loss on synthetic-defect batches
(:class:`~agssp.anomaly.synthseg.synthetic_dataset.SyntheticDefectDataset`), so mmengine's
Runner trains it."""
from typing import Optional, Union

import torch
from mmengine.model import BaseModel
from mmengine.registry import MODELS

from agssp.anomaly.registry import ANOMALY_MODELS
from agssp.anomaly.synthseg.losses import segmentation_loss
from agssp.anomaly.synthseg.model import SynthSeg


@MODELS.register_module()
class SynthSegTrainModel(BaseModel):
    """Training view of a :class:`SynthSeg` (``model``: the instance or its config).

    ``bf16``: the network's forward pass under bfloat16 autocast; the loss is computed in
    float32 either way.
    """

    def __init__(self, model: Union[SynthSeg, dict], bf16: bool = False,
                 data_preprocessor: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor)
        if isinstance(model, dict):
            model = ANOMALY_MODELS.build(model)
        if not isinstance(model, SynthSeg):
            raise TypeError(f'{type(model).__name__} is not trained by this trainer '
                            '(SynthSeg only)')
        self.model = model
        self.bf16 = bool(bf16)

    def forward(self, inputs: torch.Tensor, targets: Optional[torch.Tensor] = None,
                mode: str = 'tensor'):
        """``mode='loss'``: ``dict(loss=...)`` against the soft ``targets``; ``'tensor'``: the
        segmentation logits."""
        if mode not in ('loss', 'tensor'):
            raise ValueError(f"SynthSegTrainModel supports mode 'loss' or 'tensor', got {mode!r}")
        with torch.autocast(inputs.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            logits = self.model.net(inputs)['logits']
        if mode == 'tensor':
            return logits
        if targets is None:
            raise ValueError("mode='loss' needs targets")
        return dict(loss=segmentation_loss(logits.float(), targets))
