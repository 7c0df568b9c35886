"""Load a script of tools/ or benchmarks/ as a module, for the tests that call its functions."""
import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def load_script(relpath: str):
    """The script at ``REPO / relpath`` (e.g. ``'tools/eval_pseudo_boxes.py'``) as a fresh
    module."""
    path = REPO / relpath
    name = '_script_' + Path(relpath).with_suffix('').as_posix().replace('/', '_')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_benchmark(name: str):
    """``benchmarks/<name>.py`` as a fresh module."""
    return load_script(f'benchmarks/{name}.py')
