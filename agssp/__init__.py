"""agssp: anomaly-guided self-supervised pretraining plugins for OpenMMLab.

Importing the package (or ``custom_imports=dict(imports=['agssp'])`` in a config) applies the
stack's compatibility adjustments and registers every agssp module into the mmengine, mmdet,
mmyolo and mmpretrain registries.
"""
from agssp import compat

compat.apply()

from agssp import anomaly, datasets, models  # noqa: E402,F401  (registration)

__version__ = '0.1.0'
