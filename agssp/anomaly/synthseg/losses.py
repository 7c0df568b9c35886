"""The segmentation loss of SynthSeg: focal binary cross-entropy plus soft Dice."""
import torch
import torch.nn.functional as F


def focal_bce(logits: torch.Tensor, target: torch.Tensor, gamma: float = 2.0) -> torch.Tensor:
    """Mean focal binary cross-entropy; ``target`` may be soft (area-pooled masks)."""
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction='none')
    prob = torch.sigmoid(logits)
    p_t = prob * target + (1 - prob) * (1 - target)
    return ((1 - p_t) ** gamma * bce).mean()


def soft_dice(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """1 - soft Dice over the whole batch (stable when some images hold no defect)."""
    prob = torch.sigmoid(logits)
    inter = (prob * target).sum()
    return 1 - (2 * inter + eps) / (prob.sum() + target.sum() + eps)


def segmentation_loss(logits: torch.Tensor, target: torch.Tensor,
                      dice_weight: float = 1.0) -> torch.Tensor:
    """``focal_bce * 10 + dice_weight * soft_dice`` (the focal term is small by construction)."""
    return 10.0 * focal_bce(logits, target) + dice_weight * soft_dice(logits, target)
