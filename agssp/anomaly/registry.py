"""The scope of anomaly-map methods (KeAD, SynthSeg): agssp's own; ``configs/anomaly`` builds
from it."""
from mmengine.registry import Registry

ANOMALY_MODELS = Registry('anomaly map model', scope='agssp', locations=['agssp.anomaly'])
