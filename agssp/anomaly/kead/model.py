"""KeAD: knowledge-prompted CLIP anomaly maps (zero-shot) plus a few-shot patch memory.

Per layer of dense CLIP-Surgery tokens, the zero-shot score of a patch is
``softmax(cos(patch, [normal, abnormal]) / temperature)[abnormal]`` and the few-shot score is
``0.5 * min_j (1 - cos(patch, memory_j))``; both are averaged over layers and summed into the
map. The image score is ``(zero-shot probability of the CLS embedding + map max) / 2``.

Per-class mode (the reference's per-dataset prompts and memories within one run): the class of an
image is the first-level folder of its path under the image root (``''`` for loose images); each
class has its own text embeddings and few-shot memory, and images are scored against their own
class. The map writer declares the pool's classes (:meth:`KeAD.set_classes`) and passes each
batch's classes; ``per_class=None`` turns the mode on when the pool has several classes.
"""
import logging
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import open_clip
import torch
import torch.nn.functional as F
from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
from torch import nn

from agssp.anomaly.base import AnomalyMapModel
from agssp.anomaly.kead.memory import FewShotPatchMemory
from agssp.anomaly.kead.prompts import (Knowledge, available_knowledge, build_text_embeddings,
                                        load_knowledge, resolve_templates)
from agssp.anomaly.kead.surgery import SurgeryVisionTransformer
from agssp.anomaly.registry import ANOMALY_MODELS

logger = logging.getLogger('agssp')

LAYER_FUSIONS = ('mean', 'reference')

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
    """``softmax(cos(features, [normal, abnormal]) / temperature)[abnormal]`` for (..., D);
    ``text_embeddings`` is one pair (2, D), or one pair per image (B, 2, D) for (B, ..., D)."""
    features = F.normalize(features.float(), dim=-1)
    if text_embeddings.ndim == 2:
        logits = features @ text_embeddings.T
    else:
        logits = torch.einsum('b...d,bkd->b...k', features, text_embeddings)
    return (logits / temperature).softmax(dim=-1)[..., 1]


def class_knowledge(name: str, default: Knowledge, mapping: Dict[str, str]) -> Knowledge:
    """The knowledge of class ``name``: ``mapping[name]`` (a knowledge name or path), else the
    shipped knowledge named like the folder, else ``default`` with the folder name (``_``/``-``
    as spaces) as the object; loose images (``''``) use ``default``."""
    if not name:
        return default
    if name in mapping:
        return load_knowledge(mapping[name])
    if name.lower().replace('-', '_') in available_knowledge():
        return load_knowledge(name)
    return default.named(' '.join(name.replace('_', ' ').replace('-', ' ').split()))


def group_by_class(classes: Sequence[str]) -> Dict[str, List[int]]:
    """Indices of each class, classes in order of first appearance."""
    groups = {}
    for index, name in enumerate(classes):
        groups.setdefault(name, []).append(index)
    return groups


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
        templates: sentence templates: ``'reference'`` (the reference's 21), ``'agssp'`` (this
            project's earlier 20) or a list of strings with one ``{}``.
        layer_fusion: ``'mean'``: the map is the mean of each chosen layer's own map;
            ``'reference'``: as the reference's in-place V-V update, chosen layers inside the
            surgery range all use the last block's tokens (with the defaults each map is
            1/4 layer 3 + 3/4 layer 12).
        per_class: per-class text and memories (see the module docstring); None: on when the
            pool has several first-level folders.
        class_knowledge: first-level folder -> knowledge name or path, for per-class mode
            (other folders: :func:`class_knowledge`).
    """

    class_aware = True  # fit/forward take ``classes``; the writer calls set_classes

    def __init__(self, knowledge: str, weights: Optional[str] = None,
                 model_name: str = 'ViT-B-16-plus-240', random_init: bool = False,
                 layers: Sequence[int] = (3, 6, 9, 12), surgery_blocks: int = 9,
                 temperature: float = 0.07, k_shot: int = 4,
                 input_size: Tuple[int, int] = (240, 240), device: str = 'cpu',
                 model_overrides: Optional[dict] = None,
                 templates: Union[str, Sequence[str]] = 'reference',
                 layer_fusion: str = 'mean', per_class: Optional[bool] = None,
                 class_knowledge: Optional[Dict[str, str]] = None):
        super().__init__()
        if layer_fusion not in LAYER_FUSIONS:
            raise ValueError(f'layer_fusion must be one of {LAYER_FUSIONS}, got {layer_fusion!r}')
        clip = load_clip(model_name, weights, random_init, model_overrides).eval()
        model_size = tuple(clip.visual.image_size)
        if tuple(input_size) != model_size:
            raise ValueError(f'input_size {tuple(input_size)} does not match the image size '
                             f'{model_size} of {model_name!r}')
        self.input_size = model_size
        self.temperature = float(temperature)
        self.templates = resolve_templates(templates)
        self.layer_fusion = layer_fusion
        self.per_class = per_class
        self.class_knowledge = dict(class_knowledge or {})
        tokenizer = open_clip.get_tokenizer(model_name, context_length=clip.context_length)
        # Kept outside the module tree (stays on the CPU): it only encodes prompts.
        self._text_encoder = (clip.encode_text, tokenizer)
        self.knowledge = load_knowledge(knowledge)
        self.register_buffer('text_embeddings', self.encode_knowledge(self.knowledge))
        self.encoder = SurgeryVisionTransformer(clip.visual, layers, surgery_blocks,
                                                share_last_surgery_tokens=layer_fusion
                                                == 'reference')
        self.memory = FewShotPatchMemory(k_shot)
        self.k_shot = int(k_shot)
        self.class_memories = nn.ModuleList()
        self.memory_classes: List[str] = []
        self.class_names: List[str] = []
        self.register_buffer('class_text_embeddings', None, persistent=False)
        self.register_buffer('pixel_mean', 255.0 * torch.tensor(OPENAI_DATASET_MEAN).view(3, 1, 1))
        self.register_buffer('pixel_std', 255.0 * torch.tensor(OPENAI_DATASET_STD).view(3, 1, 1))
        self.requires_grad_(False)
        self.to(device)

    def encode_knowledge(self, knowledge: Knowledge) -> torch.Tensor:
        """Unit ``[normal, abnormal]`` text embeddings (2, D) of ``knowledge`` (on the CPU)."""
        encode_text, tokenizer = self._text_encoder
        return build_text_embeddings(encode_text, tokenizer, knowledge, self.templates)

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
    def fit(self, images: torch.Tensor, classes: Optional[Sequence[str]] = None) -> None:
        """Fill the few-shot memories from normal reference images: the first ``k_shot`` of
        each class (``classes``: one name per image; None: one class). The memory used outside
        per-class mode holds them all."""
        if self.k_shot == 0:
            return
        classes = [''] * images.shape[0] if classes is None else list(classes)
        if len(classes) != images.shape[0]:
            raise ValueError(f'fit got {images.shape[0]} images but {len(classes)} classes')
        self.class_memories = nn.ModuleList()
        self.memory_classes = []
        kept = []
        for name, indices in group_by_class(classes).items():
            memory = FewShotPatchMemory(self.k_shot)
            _, patches = self.encode(memory.limit(images[indices]))
            memory.build(patches)
            self.class_memories.append(memory)
            self.memory_classes.append(name)
            kept.append(patches)
        self.memory = FewShotPatchMemory(self.k_shot * len(kept))
        self.memory.build([torch.cat(layer) for layer in zip(*kept)])

    def set_classes(self, names: Sequence[str]) -> None:
        """Declare the classes of the images to score (first-level folders, ``''`` for loose
        images) and enter per-class mode if ``per_class`` (None: several classes) asks for it."""
        names = sorted(set(names))
        per_class = self.per_class if self.per_class is not None else len(names) > 1
        if not per_class:
            self.class_names, self.class_text_embeddings = [], None
            return
        missing = [n for n in names if n not in self.memory_classes]
        if self.k_shot > 0 and missing:
            raise ValueError(f'per-class KeAD has no few-shot memory for classes {missing}: '
                             'put normal reference images under <reference_dir>/<class>/ for '
                             'each first-level folder of the image root, or set '
                             'per_class=False (or k_shot=0)')
        embeddings = []
        for name in names:
            knowledge = class_knowledge(name, self.knowledge, self.class_knowledge)
            logger.info('KeAD class %r: knowledge %s, object %r', name, knowledge.dataset,
                        knowledge.object_name)
            embeddings.append(self.encode_knowledge(knowledge))
        self.class_names = names
        self.class_text_embeddings = torch.stack(embeddings).to(self.device)

    def _check_classes(self, classes: Optional[Sequence[str]], count: int) -> List[str]:
        """The batch's classes in per-class mode: one known class per image."""
        if classes is None or len(classes) != count:
            raise ValueError(f'per-class KeAD needs one class per image, got '
                             f'{None if classes is None else len(classes)} for {count} images')
        unknown = sorted(set(classes) - set(self.class_names))
        if unknown:
            raise ValueError(f'classes {unknown} were not declared with set_classes '
                             f'(declared: {self.class_names})')
        return list(classes)

    def _few_shot(self, patches: List[torch.Tensor], classes: Optional[List[str]]):
        """Few-shot score (B, N), the mean over layers, against each image's class memory."""
        if classes is None:
            return torch.stack(self.memory.score(patches)).mean(dim=0)
        scores = patches[0].new_empty(patches[0].shape[:2], dtype=torch.float32)
        for name, indices in group_by_class(classes).items():
            memory = self.class_memories[self.memory_classes.index(name)]
            scores[indices] = torch.stack(memory.score([p[indices] for p in patches])).mean(0)
        return scores

    @torch.no_grad()
    def score_terms(self, images: torch.Tensor,
                    classes: Optional[Sequence[str]] = None) -> Dict[str, torch.Tensor]:
        """The terms KeAD combines: ``zero_shot_map`` and ``few_shot_map`` (B, h, w), layer
        means, and ``cls_probability`` (B,), the zero-shot probability of the CLS embedding.
        ``classes`` (one per image) is needed in per-class mode and ignored otherwise."""
        cls_embedding, patches = self.encode(images)
        grid = (images.shape[0], *self.encoder.grid_size)
        text = self.text_embeddings
        if self.class_names:
            classes = self._check_classes(classes, images.shape[0])
            text = self.class_text_embeddings[[self.class_names.index(c) for c in classes]]
        else:
            classes = None
        zero_shot = torch.stack([abnormal_probability(p, text, self.temperature)
                                 for p in patches]).mean(dim=0)
        if self.k_shot > 0:
            few_shot = self._few_shot(patches, classes)
        else:
            few_shot = torch.zeros_like(zero_shot)
        cls_probability = abnormal_probability(cls_embedding, text, self.temperature)
        return dict(zero_shot_map=zero_shot.view(grid), few_shot_map=few_shot.view(grid),
                    cls_probability=cls_probability)

    def forward(self, images: torch.Tensor,
                classes: Optional[Sequence[str]] = None) -> Dict[str, torch.Tensor]:
        """``anomaly_map`` = zero-shot + few-shot map (B, h, w); ``image_score`` =
        (CLS probability + map max) / 2 (B,)."""
        terms = self.score_terms(images, classes)
        anomaly_map = terms['zero_shot_map'] + terms['few_shot_map']
        image_score = 0.5 * (terms['cls_probability'] + anomaly_map.flatten(1).amax(dim=1))
        return dict(anomaly_map=anomaly_map, image_score=image_score)
