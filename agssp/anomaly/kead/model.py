"""KeAD: knowledge-prompted CLIP anomaly maps (zero-shot) plus a few-shot patch memory.

Per layer of dense CLIP-Surgery tokens, the zero-shot score of a patch is
``softmax(cos(patch, [normal, abnormal]) / temperature)[abnormal]`` and the few-shot score is
``0.5 * min_j (1 - cos(patch, memory_j))``; both are averaged over layers and summed into the
map. The image score is ``(zero-shot probability of the CLS embedding + map max) / 2``.
"""
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import open_clip
import torch
import torch.nn.functional as F
from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

from agssp.anomaly.base import AnomalyMapModel
from agssp.anomaly.kead.memory import FewShotPatchMemory
from agssp.anomaly.kead.prompts import build_text_embeddings, load_knowledge
from agssp.anomaly.kead.surgery import SurgeryVisionTransformer
from agssp.registry import ANOMALY_MODELS

PAPER_WEIGHTS_URL = ('https://github.com/mlfoundations/open_clip/releases/download/v0.2-weights/'
                     'vit_b_16_plus_240-laion400m_e32-699c4b84.pt')


def missing_weights_message(weights, model_name: str) -> str:
    """What file is expected and how to obtain it on a machine with internet access."""
    return (f'CLIP weights file not found: {weights}. KeAD expects a local open_clip checkpoint '
            f'for {model_name!r} (the paper: ViT-B-16-plus-240, pretrained tag laion400m_e32). '
            f'Obtain it on a machine with internet access, e.g. download {PAPER_WEIGHTS_URL} '
            "(or run open_clip.create_model_and_transforms('ViT-B-16-plus-240', "
            "pretrained='laion400m_e32') and copy the cached file from ~/.cache/huggingface; "
            'note that open_clip 3.3 maps this tag on the Hugging Face hub to the e31 '
            'checkpoint), then set model.weights to its path.')


def load_clip(model_name: str, weights: Optional[str], random_init: bool,
              model_overrides: Optional[dict] = None):
    """An open_clip CLIP model from a local weights file, or randomly initialised if asked."""
    if weights is None and not random_init:
        raise ValueError('KeAD needs model weights: set weights=<path to the open_clip '
                         'checkpoint>; random_init=True (tests only) must be asked for explicitly')
    if weights is not None and random_init:
        raise ValueError('give either weights or random_init=True, not both')
    if weights is not None and not Path(weights).is_file():
        raise FileNotFoundError(missing_weights_message(weights, model_name))
    pretrained = str(weights) if weights is not None else None
    return open_clip.create_model(model_name, pretrained=pretrained, **(model_overrides or {}))


def abnormal_probability(features: torch.Tensor, text_embeddings: torch.Tensor,
                         temperature: float) -> torch.Tensor:
    """``softmax(cos(features, [normal, abnormal]) / temperature)[abnormal]`` for (..., D)."""
    logits = F.normalize(features.float(), dim=-1) @ text_embeddings.T / temperature
    return logits.softmax(dim=-1)[..., 1]


@ANOMALY_MODELS.register_module()
class KeAD(AnomalyMapModel):
    """KeAD anomaly maps on the patch grid (15x15 for ViT-B-16-plus-240 at 240x240).

    Args:
        knowledge: knowledge JSON path or shipped name (``neu_det``, ``magnetic_tile``,
            ``casting_billet``, ``steel_pipe``).
        weights: local open_clip checkpoint file for ``model_name``.
        model_name: open_clip model name.
        random_init: use random weights instead of ``weights`` (tests only; must be explicit).
        layers: 1-based blocks whose dense tokens are scored.
        surgery_blocks: how many of the last blocks carry the V-V path.
        temperature: softmax temperature of the zero-shot term.
        k_shot: number of normal reference images in the few-shot memory (0: zero-shot only).
        input_size: (H, W) the images arrive at; must match the model's image size.
        device: where the model runs.
        model_overrides: keyword overrides for ``open_clip.create_model`` (tests: a tiny model).
    """

    def __init__(self, knowledge: str, weights: Optional[str] = None,
                 model_name: str = 'ViT-B-16-plus-240', random_init: bool = False,
                 layers: Sequence[int] = (3, 6, 9, 12), surgery_blocks: int = 9,
                 temperature: float = 0.07, k_shot: int = 4,
                 input_size: Tuple[int, int] = (240, 240), device: str = 'cpu',
                 model_overrides: Optional[dict] = None):
        super().__init__()
        clip = load_clip(model_name, weights, random_init, model_overrides).eval()
        model_size = tuple(clip.visual.image_size)
        if tuple(input_size) != model_size:
            raise ValueError(f'input_size {tuple(input_size)} does not match the image size '
                             f'{model_size} of {model_name!r}')
        self.input_size = model_size
        self.temperature = float(temperature)
        tokenizer = open_clip.get_tokenizer(model_name, context_length=clip.context_length)
        self.knowledge = load_knowledge(knowledge)
        self.register_buffer('text_embeddings',
                             build_text_embeddings(clip.encode_text, tokenizer, self.knowledge))
        self.encoder = SurgeryVisionTransformer(clip.visual, layers, surgery_blocks)
        self.memory = FewShotPatchMemory(k_shot)
        self.register_buffer('pixel_mean', 255.0 * torch.tensor(OPENAI_DATASET_MEAN).view(3, 1, 1))
        self.register_buffer('pixel_std', 255.0 * torch.tensor(OPENAI_DATASET_STD).view(3, 1, 1))
        self.requires_grad_(False)
        self.to(device)

    @property
    def device(self) -> torch.device:
        return self.pixel_mean.device

    def encode(self, images: torch.Tensor):
        """CLS embedding (B, D) and per-layer patch tokens (B, N, D) of RGB 0..255 images."""
        expected = (3, *self.input_size)
        if images.ndim != 4 or tuple(images.shape[1:]) != expected:
            raise ValueError(f'expected images (B, {", ".join(map(str, expected))}) RGB 0..255, '
                             f'got shape {tuple(images.shape)}')
        images = images.to(self.device, torch.float32)
        return self.encoder((images - self.pixel_mean) / self.pixel_std)

    @torch.no_grad()
    def fit(self, images: torch.Tensor) -> None:
        """Fill the few-shot memory from the first ``k_shot`` normal reference images."""
        if self.memory.k_shot == 0:
            return
        _, patches = self.encode(self.memory.limit(images))
        self.memory.build(patches)

    @torch.no_grad()
    def score_terms(self, images: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The terms KeAD combines: ``zero_shot_map`` and ``few_shot_map`` (B, h, w), layer
        means, and ``cls_probability`` (B,), the zero-shot probability of the CLS embedding."""
        cls_embedding, patches = self.encode(images)
        grid = (images.shape[0], *self.encoder.grid_size)
        zero_shot = torch.stack([abnormal_probability(p, self.text_embeddings, self.temperature)
                                 for p in patches]).mean(dim=0)
        if self.memory.k_shot > 0:
            few_shot = torch.stack(self.memory.score(patches)).mean(dim=0)
        else:
            few_shot = torch.zeros_like(zero_shot)
        cls_probability = abnormal_probability(cls_embedding, self.text_embeddings,
                                               self.temperature)
        return dict(zero_shot_map=zero_shot.view(grid), few_shot_map=few_shot.view(grid),
                    cls_probability=cls_probability)

    def forward(self, images: torch.Tensor) -> Dict[str, torch.Tensor]:
        """``anomaly_map`` = zero-shot + few-shot map (B, h, w); ``image_score`` =
        (CLS probability + map max) / 2 (B,)."""
        terms = self.score_terms(images)
        anomaly_map = terms['zero_shot_map'] + terms['few_shot_map']
        image_score = 0.5 * (terms['cls_probability'] + anomaly_map.flatten(1).amax(dim=1))
        return dict(anomaly_map=anomaly_map, image_score=image_score)
