"""KeAD's text side: state words, written defect knowledge and the prompt-ensemble embeddings.

The state words and the default template set follow the reference; the knowledge texts
(``knowledge/*.json``) are this project's own. Normal phrases are the normal states applied to
the object name plus the knowledge file's descriptions of good surfaces; abnormal phrases are
the abnormal states plus one description per defect type. Every phrase goes through every
template; the sentences are encoded, normalised, averaged and normalised again, and the
ensemble embedding of the empty phrase is subtracted.
"""
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple, Union

import torch
import torch.nn.functional as F

NORMAL_STATES = ('{}', 'flawless {}', 'perfect {}', 'unblemished {}')
ABNORMAL_STATES = ('damaged {}', '{} with flaw', '{} with defect', '{} with damage')

# The reference's 21 sentence templates (KeAD's `prompt_order`, AGSSP repository), in its order;
# "a jpeg corrupted photo of the {}." appears twice there and so weighs double in the average.
REFERENCE_TEMPLATES = (
    'a cropped photo of the {}.',
    'a close-up photo of a {}.',
    'a close-up photo of the {}.',
    'a bright photo of a {}.',
    'a bright photo of the {}.',
    'a dark photo of the {}.',
    'a dark photo of a {}.',
    'a jpeg corrupted photo of the {}.',
    'a jpeg corrupted photo of the {}.',
    'a blurry photo of the {}.',
    'a blurry photo of a {}.',
    'a photo of a {}.',
    'a photo of the {}.',
    'a photo of a small {}.',
    'a photo of the small {}.',
    'a photo of a large {}.',
    'a photo of the large {}.',
    'a photo of the {} for visual inspection.',
    'a photo of a {} for visual inspection.',
    'a photo of the {} for anomaly detection.',
    'a photo of a {} for anomaly detection.',
)

# This project's earlier 20 templates (WinCLIP-style, plus an industrial one).
AGSSP_TEMPLATES = (
    'a photo of a {}.',
    'a photo of the {}.',
    'a close-up photo of a {}.',
    'a close-up photo of the {}.',
    'a cropped photo of a {}.',
    'a cropped photo of the {}.',
    'a bright photo of a {}.',
    'a bright photo of the {}.',
    'a dark photo of a {}.',
    'a dark photo of the {}.',
    'a low resolution photo of a {}.',
    'a low resolution photo of the {}.',
    'a blurry photo of a {}.',
    'a jpeg corrupted photo of a {}.',
    'a grayscale photo of a {}.',
    'an industrial photo of a {}.',
    'a photo of a small {}.',
    'a photo of a large {}.',
    'there is a {} in the scene.',
    'this is a {} in the scene.',
)

TEMPLATE_SETS = {'reference': REFERENCE_TEMPLATES, 'agssp': AGSSP_TEMPLATES}
TEMPLATES = REFERENCE_TEMPLATES


def resolve_templates(templates: Union[str, Sequence[str]]) -> Tuple[str, ...]:
    """A template set by name (``reference``, ``agssp``) or an explicit list of ``{}`` strings."""
    if isinstance(templates, str):
        if templates not in TEMPLATE_SETS:
            raise ValueError(f'unknown template set {templates!r}: use one of '
                             f'{sorted(TEMPLATE_SETS)} or a list of strings with one {{}}')
        return TEMPLATE_SETS[templates]
    templates = tuple(templates)
    bad = [t for t in templates if not isinstance(t, str) or t.count('{}') != 1]
    if not templates or bad:
        raise ValueError(f'templates must be a non-empty list of strings with one {{}} each, '
                         f'got {bad or "an empty list"}')
    return templates


KNOWLEDGE_DIR = Path(__file__).resolve().parent / 'knowledge'


@dataclass(frozen=True)
class Knowledge:
    """Written knowledge of one dataset: what the object is, how good and defective parts look."""

    dataset: str
    object_name: str
    good: Tuple[str, ...]
    defects: Dict[str, str]

    def phrases(self) -> Tuple[List[str], List[str]]:
        """Normal and abnormal phrases: states on the object name, then the descriptions."""
        normal = [state.format(self.object_name) for state in NORMAL_STATES] + list(self.good)
        abnormal = [state.format(self.object_name) for state in ABNORMAL_STATES]
        return normal, abnormal + list(self.defects.values())

    def named(self, object_name: str) -> 'Knowledge':
        """The same knowledge with another object name in the state prompts."""
        return replace(self, object_name=object_name)


def available_knowledge() -> List[str]:
    """Names of the knowledge files shipped with agssp (``knowledge/<name>.json``)."""
    return sorted(p.stem for p in KNOWLEDGE_DIR.glob('*.json'))


def resolve_knowledge(name_or_path: Union[str, Path]) -> Path:
    """A knowledge JSON path from a file path or a shipped name (``neu_det`` or ``neu-det``)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = KNOWLEDGE_DIR / f"{str(name_or_path).lower().replace('-', '_')}.json"
    if shipped.is_file():
        return shipped
    raise FileNotFoundError(f'knowledge file {name_or_path!r} not found: give a JSON path or one '
                            f'of the shipped names {available_knowledge()}')


def load_knowledge(name_or_path: Union[str, Path]) -> Knowledge:
    """Read and check a knowledge JSON: ``dataset``, ``object``, ``good`` (list of strings),
    ``defects`` (defect type -> one description)."""
    path = resolve_knowledge(name_or_path)
    try:
        data = json.loads(path.read_text(encoding='utf-8'))
    except (OSError, ValueError) as exc:
        raise ValueError(f'{path}: not a readable JSON file ({exc})') from exc

    def fail(reason):
        raise ValueError(f'{path}: {reason}')

    if not isinstance(data, dict):
        fail(f'expected a JSON object, got {type(data).__name__}')
    missing = [key for key in ('dataset', 'object', 'good', 'defects') if key not in data]
    if missing:
        fail(f'missing keys {missing}')
    if not isinstance(data['object'], str) or not data['object'].strip():
        fail('"object" must be a non-empty string')
    good, defects = data['good'], data['defects']
    if not isinstance(good, list) or not all(isinstance(g, str) and g.strip() for g in good):
        fail('"good" must be a list of non-empty strings')
    if (not isinstance(defects, dict) or not defects
            or not all(isinstance(d, str) and d.strip() for d in defects.values())):
        fail('"defects" must map each defect type to one non-empty description')
    return Knowledge(dataset=str(data['dataset']), object_name=data['object'].strip(),
                     good=tuple(g.strip() for g in good),
                     defects={str(k): v.strip() for k, v in defects.items()})


@torch.no_grad()
def encode_ensemble(encode_text: Callable[[torch.Tensor], torch.Tensor], tokenizer,
                    phrases: Sequence[str], templates: Sequence[str] = TEMPLATES,
                    batch_size: int = 64, device='cpu') -> torch.Tensor:
    """Unit mean (D,) of the normalised embeddings of all ``templates`` x ``phrases`` sentences."""
    sentences = [template.format(phrase) for phrase in phrases for template in templates]
    total = None
    for start in range(0, len(sentences), batch_size):
        tokens = tokenizer(sentences[start:start + batch_size]).to(device)
        embeddings = F.normalize(encode_text(tokens).float(), dim=-1).sum(dim=0)
        total = embeddings if total is None else total + embeddings
    return F.normalize(total / len(sentences), dim=-1)


def build_text_embeddings(encode_text: Callable[[torch.Tensor], torch.Tensor], tokenizer,
                          knowledge: Knowledge, templates: Sequence[str] = TEMPLATES,
                          device='cpu') -> torch.Tensor:
    """Unit ``[normal, abnormal]`` embeddings (2, D) with the empty prompt's embedding removed."""
    normal, abnormal = knowledge.phrases()
    empty = encode_ensemble(encode_text, tokenizer, [''], templates, device=device)
    states = [encode_ensemble(encode_text, tokenizer, phrases, templates, device=device) - empty
              for phrases in (normal, abnormal)]
    return F.normalize(torch.stack(states), dim=-1)
