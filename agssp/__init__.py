"""agssp: anomaly-guided self-supervised pretraining plugins for OpenMMLab.

Importing any part of the package applies the stack's compatibility adjustments
(:mod:`agssp.compat`: torch and mmengine only). Registration into the OpenMMLab registries
happens where a config asks for it, e.g. ``custom_imports=dict(imports=['agssp.datasets',
'agssp.models'])``: :mod:`agssp.datasets` (datasets, transforms), :mod:`agssp.models` (AGBP
models), :mod:`agssp.pseudo_boxes.dataset` (AGDP's on-the-fly pseudo boxes),
:mod:`agssp.anomaly` (anomaly-map methods).
"""
from agssp import compat

compat.apply()

__version__ = '0.1.0'
