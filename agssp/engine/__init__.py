"""Running configs: the shared set-up behind tools/train.py and tools/test.py."""
from agssp.engine.runner_setup import add_runner_args, build_runner, load_config

__all__ = ['add_runner_args', 'build_runner', 'load_config']
