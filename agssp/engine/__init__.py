"""Running configs: the shared set-up behind tools/train.py and tools/test.py."""
from agssp.engine.detector_adapter import adapt, adapt_from_args, add_adapter_args, detector_family
from agssp.engine.init_check import frozen_on_random_weights, warn_if_frozen_on_random_weights
from agssp.engine.runner_setup import add_runner_args, build_runner, enable_amp, load_config

__all__ = ['adapt', 'adapt_from_args', 'add_adapter_args', 'add_runner_args',
           'detector_family', 'build_runner', 'enable_amp', 'frozen_on_random_weights',
           'load_config', 'warn_if_frozen_on_random_weights']
