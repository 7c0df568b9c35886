"""AGBP checkpoint -> backbone-only checkpoint that AGDP / fine-tuning detectors load.

The output holds ``state_dict`` with ``backbone.``-prefixed keys, the form every target loads
without missing or unexpected backbone keys:

- mmyolo CSPDarknet and mmdet ResNet (same key layout as the AGBP backbones):
  ``backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=OUT, prefix='backbone.'))``;
- mmdet Swin, whose own Pretrained loading keeps only ``backbone.`` keys:
  ``backbone=dict(convert_weights=False, init_cfg=dict(type='Pretrained', checkpoint=OUT))``;
- or the whole detector: ``load_from=OUT``.

mmpretrain (1.2) and mmdet (3.3) Swin share block, patch-embedding and patch-merging names and
computations; what differs is converted here: mmdet keeps one output norm ``norm{i}`` per
``out_indices`` (missing ones are added as identity LayerNorms, unused ones dropped), SimMIM's
``mask_token`` has no mmdet counterpart (dropped), and a different window size (SimMIM's 6 ->
7) needs the relative-position bias tables resized (bicubic) and the index buffers rebuilt.
"""
import io
import re
from collections import OrderedDict

import torch
import torch.nn.functional as F

from agssp.core.fileio import atomic_write_bytes

TARGETS = ('mmyolo-cspdarknet', 'mmdet-resnet', 'mmdet-swin')
OUTPUT_PREFIX = 'backbone.'
# Keys every backbone of a target has: a checkpoint without them holds another architecture.
_SIGNATURE_KEYS = {
    'mmyolo-cspdarknet': ('stem.conv.weight', 'stage1.0.conv.weight'),
    'mmdet-resnet': ('conv1.weight', 'layer1.0.conv1.weight'),
    'mmdet-swin': ('patch_embed.projection.weight', 'stages.0.blocks.0.norm1.weight'),
}
_SWIN_DROPPED = ('mask_token',)


class BackboneExportError(ValueError):
    """A checkpoint that cannot become the requested backbone; the message says why."""


def load_agbp_state_dict(path) -> dict:
    """The ``state_dict`` of an mmengine checkpoint (safe loading; agssp.compat allow-lists the
    message hub), or the file itself when it is a bare state dict."""
    import agssp  # noqa: F401  (compat: mmengine checkpoints under weights_only=True)
    ckpt = torch.load(str(path), map_location='cpu', weights_only=True)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not state:
        raise BackboneExportError(f'{path}: not a checkpoint with a state_dict')
    return state


def backbone_state_dict(state: dict, source_prefix: str = 'backbone.') -> OrderedDict:
    """The entries under ``source_prefix`` with the prefix removed (momentum encoders, heads,
    necks and the like are left out)."""
    backbone = OrderedDict((k[len(source_prefix):], v) for k, v in state.items()
                           if k.startswith(source_prefix))
    if not backbone:
        raise BackboneExportError(f'no keys start with {source_prefix!r} '
                                  f'(first keys: {list(state)[:5]})')
    return backbone


def _check_signature(backbone: dict, target: str):
    absent = [k for k in _SIGNATURE_KEYS[target] if k not in backbone]
    if absent:
        raise BackboneExportError(f'the checkpoint backbone does not look like {target}: '
                                  f'missing {absent}')


def swin_window_tables(table: torch.Tensor, window_size: int) -> torch.Tensor:
    """A relative-position bias table ((2w-1)^2, heads) resized bicubically to ``window_size``."""
    length, heads = table.shape
    side = int(round(length ** 0.5))
    new_side = 2 * window_size - 1
    if side * side != length:
        raise BackboneExportError(f'bias table of {length} rows is not square')
    if side == new_side:
        return table
    grid = table.permute(1, 0).reshape(1, heads, side, side).float()
    grid = F.interpolate(grid, size=(new_side, new_side), mode='bicubic', align_corners=False)
    return grid.reshape(heads, new_side * new_side).permute(1, 0).contiguous().to(table.dtype)


def swin_window_index(window_size: int) -> torch.Tensor:
    """mmdet's relative-position index buffer for ``window_size`` (taken from mmdet itself)."""
    from mmdet.models.backbones.swin import WindowMSA
    return WindowMSA(embed_dims=1, num_heads=1,
                     window_size=(window_size, window_size)).relative_position_index.clone()


def swin_to_mmdet(backbone: dict, out_indices=(0, 1, 2, 3), window_size=None):
    """An mmpretrain Swin backbone state dict in mmdet's layout; returns (state, report)."""
    out_indices = tuple(int(i) for i in out_indices)
    report = dict(dropped=[], added=[], resized=[])
    state = OrderedDict()
    for key, value in backbone.items():
        norm = re.fullmatch(r'norm(\d+)\.(weight|bias)', key)
        if key in _SWIN_DROPPED or (norm and int(norm.group(1)) not in out_indices):
            report['dropped'].append(key)
            continue
        state[key] = value
    for i in out_indices:
        width_key = f'stages.{i}.blocks.0.norm1.weight'
        if width_key not in backbone:
            raise BackboneExportError(f'out index {i} has no stage in the checkpoint')
        if f'norm{i}.weight' not in state:
            width = backbone[width_key].shape[0]
            state[f'norm{i}.weight'] = torch.ones(width)
            state[f'norm{i}.bias'] = torch.zeros(width)
            report['added'] += [f'norm{i}.weight', f'norm{i}.bias']
    if window_size is not None:
        index = swin_window_index(window_size)
        for key in list(state):
            if key.endswith('relative_position_bias_table'):
                resized = swin_window_tables(state[key], window_size)
                if resized.shape != state[key].shape:
                    report['resized'].append(key)
                state[key] = resized
            elif key.endswith('relative_position_index'):
                state[key] = index.clone()
    return state, report


def export_backbone(state: dict, target: str, source_prefix: str = 'backbone.',
                    swin_out_indices=(0, 1, 2, 3), window_size=None):
    """AGBP state dict -> (``backbone.``-prefixed state dict for ``target``, report)."""
    if target not in TARGETS:
        raise BackboneExportError(f'unknown target {target!r}; known: {TARGETS}')
    backbone = backbone_state_dict(state, source_prefix)
    _check_signature(backbone, target)
    report = dict(dropped=[], added=[], resized=[])
    if target == 'mmdet-swin':
        backbone, report = swin_to_mmdet(backbone, swin_out_indices, window_size)
    elif window_size is not None:
        raise BackboneExportError(f'window_size applies to Swin only, not {target}')
    out = OrderedDict((OUTPUT_PREFIX + k, v) for k, v in backbone.items())
    return out, report


def save_backbone_checkpoint(path, state: dict, meta: dict):
    """Write ``dict(state_dict=..., meta=...)`` atomically."""
    buffer = io.BytesIO()
    torch.save(dict(state_dict=state, meta=meta), buffer)
    atomic_write_bytes(path, buffer.getvalue())


def compare_with_backbone(backbone_module: torch.nn.Module, state: dict) -> dict:
    """What loading ``state`` (prefix removed) into the module would meet: ``missing`` and
    ``unexpected`` keys, and ``shape_mismatch`` (key: checkpoint shape vs module shape)."""
    state = {k[len(OUTPUT_PREFIX):] if k.startswith(OUTPUT_PREFIX) else k: v
             for k, v in state.items()}
    expected = backbone_module.state_dict()
    return dict(
        missing=sorted(set(expected) - set(state)),
        unexpected=sorted(set(state) - set(expected)),
        shape_mismatch=sorted(f'{k}: {tuple(state[k].shape)} vs {tuple(expected[k].shape)}'
                              for k in set(state) & set(expected)
                              if state[k].shape != expected[k].shape))
