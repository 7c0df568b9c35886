"""The scope of anomaly-map methods (KeAD, SynthSeg): agssp's own, built from ``configs/anomaly``."""
from mmengine.registry import Registry

ANOMALY_MODELS = Registry('anomaly map model', scope='agssp', locations=['agssp.anomaly'])
