"""KeAD: CLIP-Surgery dense tokens scored against knowledge prompts plus a few-shot memory."""
from agssp.anomaly.kead.memory import FewShotPatchMemory
from agssp.anomaly.kead.model import KeAD, abnormal_probability, class_knowledge, load_clip
from agssp.anomaly.kead.prompts import (ABNORMAL_STATES, AGSSP_TEMPLATES, NORMAL_STATES,
                                        REFERENCE_TEMPLATES, TEMPLATE_SETS, TEMPLATES, Knowledge,
                                        available_knowledge, build_text_embeddings, encode_ensemble,
                                        load_knowledge, resolve_templates)
from agssp.anomaly.kead.surgery import SurgeryVisionTransformer, value_value_attention

__all__ = [
    'KeAD', 'FewShotPatchMemory', 'SurgeryVisionTransformer', 'value_value_attention',
    'abnormal_probability', 'class_knowledge', 'load_clip', 'Knowledge', 'load_knowledge',
    'available_knowledge', 'build_text_embeddings', 'encode_ensemble', 'resolve_templates',
    'NORMAL_STATES', 'ABNORMAL_STATES', 'TEMPLATES', 'REFERENCE_TEMPLATES', 'AGSSP_TEMPLATES',
    'TEMPLATE_SETS',
]
