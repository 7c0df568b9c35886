"""The two rules AGBP distillation is built on: a stage's activation map and its target.

- Activation map of a stage: the channel-wise sum of squares of its features, (B, 1, h, w).
- Target: the anomaly map resized bilinearly to the stage's (h, w), always from the map as it
  was packed with the image, never from another stage's resized copy. This is the torch twin of
  :func:`agssp.core.anomaly_maps.resize_map` (bilinear, half-pixel centres, no antialiasing: the
  same values as ``cv2.INTER_LINEAR``) written in torch so that it runs on the training device.
"""
import torch
import torch.nn.functional as F


def stage_activation(feat: torch.Tensor) -> torch.Tensor:
    """Channel-wise sum of squares of (B, C, h, w) features: a (B, 1, h, w) activation map.

    Computed in float32 whatever the features' dtype: under AMP a float16 sum of squares over
    hundreds of channels overflows (65504) and the distillation loss turns NaN.
    """
    if feat.dim() != 4:
        raise ValueError(f'expected stage features of shape (B, C, h, w), got {tuple(feat.shape)}')
    return feat.float().pow(2).sum(dim=1, keepdim=True)


def resize_target(anomaly_maps: torch.Tensor, hw) -> torch.Tensor:
    """Anomaly maps (B, H, W) or (B, 1, H, W) resized bilinearly to ``hw``: (B, 1, h, w)."""
    if anomaly_maps.dim() == 3:
        anomaly_maps = anomaly_maps.unsqueeze(1)
    if anomaly_maps.dim() != 4 or anomaly_maps.shape[1] != 1:
        raise ValueError('expected anomaly maps of shape (B, H, W) or (B, 1, H, W), '
                         f'got {tuple(anomaly_maps.shape)}')
    hw = (int(hw[0]), int(hw[1]))
    anomaly_maps = anomaly_maps.float()
    if tuple(anomaly_maps.shape[-2:]) == hw:
        return anomaly_maps
    return F.interpolate(anomaly_maps, size=hw, mode='bilinear', align_corners=False)
