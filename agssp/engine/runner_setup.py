"""One place that turns command-line arguments and a config file into an mmengine Runner."""
import argparse
import inspect
import os
from pathlib import Path

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import MODELS

from agssp.compat import distributed_backend
from agssp.engine.detector_adapter import adapt_from_args
from agssp.engine.init_check import warn_if_frozen_on_random_weights

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


def add_runner_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The arguments every Runner-based tool shares."""
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='folder for logs and checkpoints '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. train_cfg.max_epochs=3')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none',
                        help='job launcher (pytorch: started by torchrun)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    return parser


def load_config(path, cfg_options=None) -> Config:
    """Read a config, failing with a clear message when the file is missing."""
    path = Path(path)
    if not path.is_file():
        raise SystemExit(f'error: config file not found: {path}')
    cfg = Config.fromfile(str(path))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def cpu_distributed_settings(cfg: Config) -> None:
    """Several CPU processes: DDP without device ids, and no SyncBatchNorm (GPU only)."""
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = dict(wrapper, device_ids=None)
    if cfg.get('sync_bn'):
        cfg.sync_bn = None
    model_cfg = cfg.get('model')
    if isinstance(model_cfg, dict) and isinstance(model_cfg.get('type'), str):
        with MODELS.switch_scope_and_registry(cfg.get('default_scope')) as registry:
            model_cls = registry.get(model_cfg['type'])
        if model_cls is not None and 'use_syncbn' in inspect.signature(model_cls).parameters:
            model_cfg['use_syncbn'] = False  # mmyolo detectors convert BN when world size > 1


def prepare_config(args, cfg: Config) -> Config:
    """Apply work dir, launcher, backend, AMP, lr scaling, resume and checkpoint options."""
    cfg.launcher = args.launcher
    if args.launcher != 'none':
        os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
        cfg.env_cfg.dist_cfg['backend'] = distributed_backend()
        if not torch.cuda.is_available():
            cpu_distributed_settings(cfg)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = str(Path('work_dirs') / Path(args.config).stem)
    if getattr(args, 'amp', False):
        if not torch.cuda.is_available():
            raise SystemExit(f'error: --amp needs a CUDA device (none is available); {args.config} '
                             "runs in float32 on the CPU: drop --amp (mmengine's "
                             'AmpOptimWrapper is GPU/NPU only)')
        enable_amp(cfg)
    if getattr(args, 'auto_scale_lr', False):
        if not cfg.get('auto_scale_lr', {}).get('base_batch_size'):
            raise SystemExit('error: --auto-scale-lr needs auto_scale_lr.base_batch_size '
                             'in the config')
        cfg.auto_scale_lr.enable = True
    resume = getattr(args, 'resume', None)
    if resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif resume:
        cfg.resume, cfg.load_from = True, resume
    checkpoint = getattr(args, 'checkpoint', None)
    if checkpoint:
        if not Path(checkpoint).is_file():
            raise SystemExit(f'error: checkpoint not found: {checkpoint}')
        cfg.load_from = checkpoint
    if cfg.get('train_cfg'):
        warn_if_frozen_on_random_weights(cfg)
    return cfg


def enable_amp(cfg: Config) -> Config:
    """Mixed precision as the paper's runs used it: mmengine's ``AmpOptimWrapper`` (float16,
    dynamic loss scale) around the config's optimizer; other wrapper settings are kept."""
    wrapper = cfg.get('optim_wrapper')
    if not isinstance(wrapper, dict) or 'optimizer' not in wrapper:
        raise SystemExit(f'error: --amp needs an optim_wrapper with an optimizer in '
                         f'{cfg.filename}')
    if wrapper.get('type', 'OptimWrapper') not in ('OptimWrapper', 'AmpOptimWrapper'):
        raise SystemExit(f"error: --amp cannot wrap optim_wrapper type {wrapper['type']!r} "
                         f'of {cfg.filename} (only OptimWrapper)')
    wrapper.type = 'AmpOptimWrapper'
    wrapper.setdefault('loss_scale', 'dynamic')
    return cfg


def build_runner(args):
    """Build the Runner (or the config's own ``runner_type``) from parsed arguments."""
    import agssp  # noqa: F401  isort: skip (compat before any config is built)
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    cfg = adapt_from_args(load_config(args.config), args)
    if args.cfg_options:  # explicit keys win over the adapter's
        cfg.merge_from_dict(args.cfg_options)
    cfg = prepare_config(args, cfg)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def kept_checkpoint(work_dir, best=True) -> Path:
    """The checkpoint a finished training leaves in ``work_dir``: with ``best``, the newest
    ``best_*.pth`` the config's ``save_best`` kept (chosen on the validation split), else (or
    when there is none) the one ``last_checkpoint`` names."""
    work_dir = Path(work_dir)
    best_files = sorted(work_dir.glob('best_*.pth'), key=lambda p: p.stat().st_mtime)
    if best and best_files:
        return best_files[-1]
    last = work_dir / 'last_checkpoint'
    if not last.is_file():
        raise FileNotFoundError(f'no checkpoint in {work_dir} (no last_checkpoint file)')
    return Path(last.read_text().strip())


def test_kept_checkpoint(runner):
    """After ``runner.train()``: test the best checkpoint (:func:`kept_checkpoint`) on the
    config's test split in the same process, as ``tools/test.py`` with that checkpoint does
    (the Runner loads it afresh, EMA weights included, before the test loop)."""
    checkpoint = kept_checkpoint(runner.work_dir)
    runner.logger.info(f'testing {checkpoint} on the test split')
    runner._load_from, runner._has_loaded = str(checkpoint), False  # load it as load_from does
    return runner.test()
