"""SynthSeg: the weights-free anomaly-map method (synthetic-defect segmentation plus Gaussian
memories of texture and features, and optionally a within-image self-similarity score), trained
on the unlabelled images themselves."""
from agssp.anomaly.synthseg.memory import GaussianMemory
from agssp.anomaly.synthseg.model import (COMPONENTS, SynthSeg, aspect_input_size, pool_alignment,
                                          standardised_grey)
from agssp.anomaly.synthseg.self_similarity import SelfSimilarity
from agssp.anomaly.synthseg.synthetic import GENERATORS, SyntheticDefects
from agssp.anomaly.synthseg.texture import texture_channels, texture_features
from agssp.anomaly.synthseg.torch_model import SynthSegNet

__all__ = ['SynthSeg', 'SynthSegNet', 'GaussianMemory', 'SelfSimilarity', 'SyntheticDefects',
           'GENERATORS', 'COMPONENTS', 'standardised_grey', 'aspect_input_size', 'pool_alignment',
           'texture_features', 'texture_channels']
