"""Fine-tuning throughput: the pipeline's training loop against the model's own training step.

One run, one process, on the fine-tuning config a pipeline config builds (its data stage, its
overrides, image size, batch and workers):

  (a) bare step: ``model.train_step`` (preprocessing, forward, backward, optimizer step) on
      batches collated beforehand and kept in memory, timed after every epoch of (b) so that a
      changing machine load hits both alike;
  (b) the full loop: ``Runner.train()`` of the same config for a few epochs (data pipeline and
      workers, hooks, logging, epoch ends, checkpoints), timed from the end of its first
      iteration, less the time of the (a) measurements made in between;
  (c) one validation pass over the config's validation set.

Printed: images/s of (a) and (b) and their ratio (goal >= 0.85), the validation pass and its
share of a whole fine-tuning stage at the config's validation schedule (goal <= 10 %), peak
memory. ``--family swin`` runs YOLOv8-s Swin-B (w7) at a small size instead.

    python benchmarks/finetune_throughput.py                      # NEU-DET when present, else demo
    python benchmarks/finetune_throughput.py --epochs 2 --quick   # fewer steps (run_all --quick)
"""
import argparse
import copy
import resource
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.hooks import Hook  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import agssp.datasets  # noqa: E402,F401  (registration)
from agssp.engine.detector_adapter import validation_epochs  # noqa: E402
from agssp.pipeline.agssp_pipeline import AgsspPipeline  # noqa: E402
from agssp.pipeline.data_sources import prepare_data  # noqa: E402

RATIO_GOAL = 0.85
VAL_SHARE_GOAL = 0.10
FAMILIES = {
    'cspdarknet': dict(),
    'swin': dict(config='configs/finetune/yolo/yolov8_s_swin-b-w7_baseline.py',
                 img_scale=(96, 96), batch_size=2),
}


class InterleavedTimer(Hook):
    """Times every training iteration of the loop and, after each epoch, the bare step."""

    priority = 'LOWEST'

    def __init__(self, batches, repeat):
        self.batches, self.repeat = batches, repeat
        self.times, self.bare_rates, self.bare_seconds = [], [], []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.times.append(time.perf_counter())

    def after_train_epoch(self, runner):
        start = time.perf_counter()
        self.bare_rates.append(bare_step_rate(runner, self.batches, self.repeat))
        self.bare_seconds.append(time.perf_counter() - start)

    def loop_rate(self, batch_size) -> float:
        """Images/s of the loop from its first iteration's end, bare-step timings left out."""
        inside = sum(self.bare_seconds[:-1])  # the last one comes after the last iteration
        return (len(self.times) - 1) * batch_size / (self.times[-1] - self.times[0] - inside)


def pipeline_finetune_config(pipeline_config, family, work_dir, data_dir, options):
    """The fine-tuning config of seed 0, scratch, as the pipeline would run it."""
    pcfg = Config.fromfile(str(pipeline_config))
    ft = dict(pcfg.finetune, **FAMILIES[family], **options)
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    info = prepare_data(dict(pcfg.data), Path(data_dir))
    seed = ft.get('seeds', [0])[0]
    cfg = AgsspPipeline(pcfg, work_dir).finetune_config(info, ft, Path(work_dir), seed, None)
    return cfg, ft, info


def bare_step_rate(runner, batches, repeat) -> float:
    """Images/s of ``model.train_step`` on collated batches already in memory."""
    model = runner.model
    model.train()
    model.train_step(copy.deepcopy(batches[0]), runner.optim_wrapper)  # warm-up
    images, start = 0, time.perf_counter()
    for _ in range(repeat):
        for batch in batches:
            model.train_step(copy.deepcopy(batch), runner.optim_wrapper)
            images += len(batch['inputs'])
    return images / (time.perf_counter() - start)


def run(args):
    work = Path(args.work_dir) / args.family
    cfg, ft, info = pipeline_finetune_config(args.pipeline_config, args.family, work / 'run',
                                             Path(args.work_dir) / 'data', args.finetune_options)
    stage_epochs, stage_vals = (cfg.train_cfg.max_epochs,
                                  len(validation_epochs(cfg.train_cfg)))
    cfg.work_dir = str(work / 'run')
    cfg.train_cfg.max_epochs = args.epochs
    cfg.train_cfg.val_interval = args.epochs + 1
    cfg.train_cfg.pop('dynamic_intervals', None)
    cfg.default_hooks.param_scheduler.max_epochs = stage_epochs
    for hook in cfg.get('custom_hooks', []):
        if hook.get('type', '').endswith('PipelineSwitchHook'):
            hook['switch_epoch'] = stage_epochs
    runner = Runner.from_cfg(cfg)
    batch_size = cfg.train_dataloader.batch_size
    print(f'{args.family}: {info["num_train"]} training images, batch {batch_size}, '
          f'validation batch {cfg.val_dataloader.batch_size}, '
          f'{cfg.train_dataloader.num_workers} workers, {torch.get_num_threads()} threads, '
          f'image {tuple(ft["img_scale"])}, {args.epochs} epochs timed', flush=True)

    batches = []
    for batch in runner.build_dataloader(copy.deepcopy(cfg.train_dataloader)):
        batches.append(batch)
        if len(batches) == args.batches:
            break
    runner.optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    bare_step_rate(runner, batches, 1)  # warm-up
    timer = InterleavedTimer(batches, args.repeat)
    runner.register_hook(timer)
    runner.train()
    iters_per_epoch = len(runner.train_dataloader)
    rate_a = statistics.median(timer.bare_rates)
    rate_b = timer.loop_rate(batch_size)
    print(f'  (a) bare step: {rate_a:.2f} images/s (after each epoch: '
          + ', '.join(f'{r:.2f}' for r in timer.bare_rates) + ')')
    print(f'  (b) full loop: {rate_b:.2f} images/s ({len(timer.times)} iterations, '
          f'{iters_per_epoch} per epoch)', flush=True)

    start = time.perf_counter()
    runner.val_loop.run()
    val_s = time.perf_counter() - start
    train_s = stage_epochs * iters_per_epoch * batch_size / rate_b
    share = stage_vals * val_s / (train_s + stage_vals * val_s)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f'  (c) validation pass: {val_s:.1f} s over {info["num_val"]} images; the stage '
          f'({stage_epochs} epochs, {stage_vals} validations) would spend '
          f'{train_s / 60:.1f} min training + {stage_vals * val_s / 60:.1f} min validating')
    print(f'{args.family}: (b)/(a) = {rate_b / rate_a:.3f} (goal >= {RATIO_GOAL}); '
          f'validation share {share:.3f} (goal <= {VAL_SHARE_GOAL}); '
          f'peak memory {peak_mb:.0f} MB (main process)')
    return rate_b / rate_a >= RATIO_GOAL and share <= VAL_SHARE_GOAL


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    default_cfg = REPO / ('configs/pipeline/neu_det.py'
                          if (REPO.parent / 'shared' / 'data' / 'neu-det').is_dir()
                          else 'configs/pipeline/demo.py')
    parser.add_argument('--pipeline-config', default=str(default_cfg),
                        help='pipeline config whose fine-tuning stage is measured '
                        '(default: neu_det.py when ../shared/data/neu-det exists, else demo.py)')
    parser.add_argument('--family', choices=sorted(FAMILIES), nargs='+',
                        default=['cspdarknet'])
    parser.add_argument('--finetune-options', nargs='+', action=DictAction, default={},
                        help='override keys of the pipeline config\'s finetune section, e.g. '
                        'val_batch_size=1 num_workers=1 (to measure another setting)')
    parser.add_argument('--epochs', type=int, default=4, help='epochs of the timed loop (b)')
    parser.add_argument('--batches', type=int, default=4, help='batches kept in memory for (a)')
    parser.add_argument('--repeat', type=int, default=2, help='passes over them per (a) timing')
    parser.add_argument('--work-dir', default=str(REPO / 'work_dirs/benchmarks/finetune_throughput'))
    args = parser.parse_args()
    print(f'pipeline config: {args.pipeline_config}')
    ok = True
    for family in args.family:
        ok &= run(argparse.Namespace(**dict(vars(args), family=family)))
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
