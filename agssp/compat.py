"""Every adjustment the modern stack (torch >= 2.6, numpy 1.26, mmengine 0.10) needs, in one place.

Cross-package bases: a config inheriting ``mmyolo::...`` gets ``_scope_='mmyolo'`` added to every
dict with a ``type``, the dataloader's ``collate_fn`` included, and mmengine then passes
``_scope_`` to the collate function as an argument. Collate functions (mmyolo's too) live in
mmengine's root registry, so that scope is dropped.

CPU-only distributed runs: mmengine's torchrun launcher calls ``torch.cuda.set_device`` first,
which fails without a GPU; there the process group is started without it (gloo).

Checkpoints: torch >= 2.6 loads with ``weights_only=True``. mmengine checkpoints also hold the
message hub: ``HistoryBuffer`` objects with numpy arrays, numpy scalars and dtypes, and the
buffer's statistics methods pickled as ``getattr(HistoryBuffer, 'mean')``. Rather than turning
safe loading off, the exact globals those objects need are allow-listed; ``getattr`` is replaced
by a resolver that only returns HistoryBuffer's registered statistics methods.
"""
import codecs
import copy
import functools

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer


def distributed_backend() -> str:
    """nccl when CUDA is usable, gloo otherwise (CPU-only multi-process runs)."""
    return 'nccl' if torch.cuda.is_available() else 'gloo'


def _history_buffer_getattr(obj, name):
    """Stand-in for ``getattr`` when unpickling: only HistoryBuffer statistics methods."""
    if obj is HistoryBuffer and name in HistoryBuffer._statistics_methods:
        return getattr(HistoryBuffer, name)
    raise AttributeError(
        f'refused to resolve {obj!r}.{name} while loading a checkpoint with weights_only=True: '
        'only mmengine HistoryBuffer statistics methods are allowed')


def _numpy_globals():
    """numpy objects that pickled arrays, scalars and dtypes refer to."""
    multiarray = np.core.multiarray
    dtype_classes = [getattr(np.dtypes, n) for n in dir(np.dtypes) if n.endswith('DType')]
    return [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype, *dtype_classes]


def checkpoint_safe_globals():
    """The allow-list that lets mmengine checkpoints load under torch's safe loading."""
    # HistoryBuffer's default statistics methods are registered when a buffer is first built.
    HistoryBuffer()
    return [HistoryBuffer, codecs.encode, *_numpy_globals(),
            (_history_buffer_getattr, 'builtins.getattr')]


def unscoped_collate_cfg(dataloader_cfg):
    """A dataloader config whose ``collate_fn`` has no ``_scope_`` argument."""
    collate = dataloader_cfg.get('collate_fn') if isinstance(dataloader_cfg, dict) else None
    if not isinstance(collate, dict) or '_scope_' not in collate:
        return dataloader_cfg
    dataloader_cfg = copy.deepcopy(dataloader_cfg)
    dataloader_cfg['collate_fn'].pop('_scope_')
    return dataloader_cfg


def _patch_runner_collate_scope():
    from mmengine.runner import Runner
    build = Runner.build_dataloader
    if getattr(build, '_agssp_patched', False):
        return

    @functools.wraps(build)
    def build_dataloader(dataloader, seed=None, diff_rank_seed=False):
        return build(unscoped_collate_cfg(dataloader), seed=seed, diff_rank_seed=diff_rank_seed)

    build_dataloader._agssp_patched = True
    Runner.build_dataloader = staticmethod(build_dataloader)


def _patch_cpu_distributed_init():
    from mmengine.dist import utils as dist_utils
    init = dist_utils._init_dist_pytorch
    if getattr(init, '_agssp_patched', False):
        return

    @functools.wraps(init)
    def init_dist_pytorch(backend, init_backend='torch', **kwargs):
        if torch.cuda.is_available() or init_backend != 'torch':
            return init(backend, init_backend=init_backend, **kwargs)
        backend = 'gloo' if backend == 'nccl' else backend
        torch.distributed.init_process_group(backend=backend, **kwargs)

    init_dist_pytorch._agssp_patched = True
    dist_utils._init_dist_pytorch = init_dist_pytorch


def apply():
    """Apply every compatibility adjustment; safe to call more than once."""
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals(checkpoint_safe_globals())
    _patch_runner_collate_scope()
    _patch_cpu_distributed_init()
