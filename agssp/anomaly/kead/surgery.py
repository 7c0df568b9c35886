"""CLIP-Surgery dense tokens: open_clip's vision tower run with an added V-V attention path.

The wrapper drives the blocks of an open_clip ``VisionTransformer`` itself, calling each block's
own modules, so the ordinary path is exactly open_clip's. In the last ``surgery_blocks`` blocks a
second path is summed alongside: it starts from the ordinary path's input at the first surgery
block and adds, per block, self-attention that uses the value projection as query, key and value
(``softmax(v v^T / sqrt(head_dim)) v``, then ``out_proj``) on the ordinary path's ``ln_1`` tokens;
it has no MLP. Dense tokens of blocks inside the surgery range come from the V-V path.

``share_last_surgery_tokens=True`` reproduces the reference implementation, whose V-V path is
updated in place: every chosen block inside the surgery range then returns the V-V tokens after
the last block (with layers 3, 6, 9, 12 and 9 surgery blocks: layer 3, then layer 12 three times).
"""
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from open_clip.transformer import ResidualAttentionBlock, VisionTransformer
from torch import nn


def value_value_attention(attn: nn.MultiheadAttention, tokens: torch.Tensor) -> torch.Tensor:
    """V-V self-attention of ``attn``'s value projection on batch-first tokens (B, L, C)."""
    width = attn.embed_dim
    if attn._qkv_same_embed_dim:
        weight = attn.in_proj_weight[2 * width:]
    else:
        weight = attn.v_proj_weight
    bias = attn.in_proj_bias[2 * width:] if attn.in_proj_bias is not None else None
    batch, length, _ = tokens.shape
    values = F.linear(tokens, weight, bias)
    values = values.view(batch, length, attn.num_heads, attn.head_dim).transpose(1, 2)
    mixed = F.scaled_dot_product_attention(values, values, values)
    return attn.out_proj(mixed.transpose(1, 2).reshape(batch, length, width))


class SurgeryVisionTransformer(nn.Module):
    """Dense patch tokens of chosen blocks (V-V path in the surgery range) and the CLS embedding.

    Args:
        visual: an open_clip ``VisionTransformer`` with class-token pooling and default blocks.
        layers: 1-based block indices whose tokens are returned (e.g. ``(3, 6, 9, 12)``).
        surgery_blocks: how many of the last blocks carry the V-V path.
        share_last_surgery_tokens: chosen blocks in the surgery range all return the last
            block's V-V tokens (the reference's in-place behaviour).
    """

    def __init__(self, visual: VisionTransformer, layers: Sequence[int], surgery_blocks: int,
                 share_last_surgery_tokens: bool = False):
        super().__init__()
        if not isinstance(visual, VisionTransformer):
            raise TypeError(f'expected an open_clip VisionTransformer, got {type(visual).__name__}')
        if visual.attn_pool is not None or visual.pool_type != 'tok':
            raise ValueError('the surgery wrapper needs class-token pooling without attentional '
                             f'pooling (got pool_type={visual.pool_type!r}, '
                             f'attn_pool={visual.attn_pool is not None})')
        blocks = visual.transformer.resblocks
        if not all(type(b) is ResidualAttentionBlock for b in blocks):
            raise TypeError('the surgery wrapper supports open_clip ResidualAttentionBlock blocks '
                            f'only, got {sorted({type(b).__name__ for b in blocks})}')
        depth = len(blocks)
        layers = tuple(int(i) for i in layers)
        if not layers or any(i < 1 or i > depth for i in layers):
            raise ValueError(f'layers must be 1-based block indices in [1, {depth}], got {layers}')
        if not 0 <= surgery_blocks <= depth:
            raise ValueError(f'surgery_blocks must be in [0, {depth}], got {surgery_blocks}')
        self.visual = visual
        self.layers = layers
        self.surgery_start = depth - surgery_blocks
        self.share_last_surgery_tokens = bool(share_last_surgery_tokens)

    @property
    def grid_size(self) -> Tuple[int, int]:
        return tuple(self.visual.grid_size)

    def project(self, tokens: torch.Tensor) -> torch.Tensor:
        """Map width-C tokens (..., C) into the joint embedding space: ``ln_post`` then ``proj``."""
        return self.visual.ln_post(tokens) @ self.visual.proj

    def forward(self, images: torch.Tensor) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        """Return the CLS embedding (B, D) as open_clip's ``encode_image`` gives it, and the
        projected patch tokens (B, N, D) of each block in ``layers``."""
        transformer = self.visual.transformer
        tokens = self.visual._embeds(images)
        if not transformer.batch_first:
            tokens = tokens.transpose(0, 1)
        surgery = None
        taken = {}
        for index, block in enumerate(transformer.resblocks):
            if index >= self.surgery_start:
                step = self._value_value(block, block.ln_1(tokens), transformer.batch_first)
                surgery = (tokens if surgery is None else surgery) + step
            tokens = block(tokens)
            if index + 1 in self.layers:
                taken[index + 1] = surgery if index >= self.surgery_start else tokens
        if self.share_last_surgery_tokens:
            taken.update({i: surgery for i in taken if i > self.surgery_start})
        if not transformer.batch_first:
            tokens = tokens.transpose(0, 1)
            taken = {i: t.transpose(0, 1) for i, t in taken.items()}
        pooled, _ = self.visual._pool(tokens)
        cls_embedding = pooled @ self.visual.proj
        patches = [self.project(taken[i][:, 1:]) for i in self.layers]
        return cls_embedding, patches

    @staticmethod
    def _value_value(block: ResidualAttentionBlock, normed: torch.Tensor,
                     batch_first: bool) -> torch.Tensor:
        """One V-V residual step of ``block`` (layer-scaled), in the transformer's token layout."""
        if batch_first:
            return block.ls_1(value_value_attention(block.attn, normed))
        return block.ls_1(value_value_attention(block.attn, normed.transpose(0, 1)).transpose(0, 1))
