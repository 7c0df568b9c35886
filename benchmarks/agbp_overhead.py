"""Training-step time of an AGBP classifier against the same classifier without distillation.

For each pair (AGBP config, its classification-only twin) both models are built with the same
backbone weights and run full training steps (preprocessing, forward, backward, optimizer
step) on the same batch in the same process, alternating in rounds so that machine load hits
both alike. Printed: the median time per step of each and the ratio AGBP / baseline (goal:
<= 1.05). Images and maps are random (speed does not depend on their content).

    python benchmarks/agbp_overhead.py --img-size 128 --batch-size 8 --steps 5 --rounds 4
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402
from mmengine.registry import MODELS, init_default_scope  # noqa: E402
from mmpretrain.structures import DataSample  # noqa: E402

import agssp.datasets  # noqa: E402,F401  (registration)
import agssp.models  # noqa: E402,F401  (registration)

CONFIG_DIR = REPO / 'configs' / 'pretrain_agbp'
PAIRS = {
    'cspdarknet': ('agbp_cspdarknet-yolov8s_8xb128-200e_metal.py',
                   'cls_cspdarknet-yolov8s_8xb128-200e_metal.py'),
    'resnet50': ('agbp_resnet50_8xb128-200e_metal.py', 'cls_resnet50_8xb128-200e_metal.py'),
    'swin-base': ('agbp_swin-base-w7_8xb80-200e_metal-224px.py',
                  'cls_swin-base-w7_8xb80-200e_metal-224px.py'),
}
GOAL = 1.05


def build(name, img_size):
    cfg = Config.fromfile(str(CONFIG_DIR / name))
    if 'img_size' in cfg.model.backbone:
        cfg.model.backbone.img_size = img_size
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    model.train()
    return model, build_optim_wrapper(model, cfg.optim_wrapper)


def make_batch(batch_size, img_size, num_classes=2):
    gen = torch.Generator().manual_seed(0)
    inputs = [torch.randint(0, 256, (3, img_size, img_size), dtype=torch.uint8, generator=gen)
              for _ in range(batch_size)]
    samples = []
    for i in range(batch_size):
        sample = DataSample().set_gt_label(i % num_classes)
        sample.set_field(torch.rand(1, img_size, img_size, generator=gen), 'anomaly_map')
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def time_step(model, optim_wrapper, batch):
    start = time.perf_counter()
    model.train_step(batch, optim_wrapper)
    return time.perf_counter() - start


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--pairs', nargs='+', default=['cspdarknet', 'resnet50'], choices=PAIRS)
    p.add_argument('--img-size', type=int, default=128)
    p.add_argument('--batch-size', type=int, default=8)
    p.add_argument('--steps', type=int, default=30, help='timed steps per model')
    p.add_argument('--threads', type=int, default=1, help='torch CPU threads')
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    batch = make_batch(args.batch_size, args.img_size)
    worst = 0.0
    for pair in args.pairs:
        agbp_name, base_name = PAIRS[pair]
        agbp, agbp_optim = build(agbp_name, args.img_size)
        base, base_optim = build(base_name, args.img_size)
        base.load_state_dict(agbp.state_dict(), strict=True)
        for model, optim in ((agbp, agbp_optim), (base, base_optim)):
            time_step(model, optim, batch)  # warm-up
        agbp_times, base_times = [], []
        for i in range(args.steps):
            order = ((agbp, agbp_optim, agbp_times), (base, base_optim, base_times))
            for model, optim, times in (order if i % 2 == 0 else order[::-1]):
                times.append(time_step(model, optim, batch))
        ratio = statistics.median(a / b for a, b in zip(agbp_times, base_times))
        worst = max(worst, ratio)
        print(f'{pair}: {args.batch_size} x {args.img_size}px, {args.steps} step pairs; '
              f'median step AGBP {statistics.median(agbp_times) * 1000:.1f} ms, '
              f'classification only {statistics.median(base_times) * 1000:.1f} ms; '
              f'fastest {min(agbp_times) * 1000:.1f} / {min(base_times) * 1000:.1f} ms; '
              f'median paired ratio {ratio:.3f} (goal <= {GOAL})')
    print(f'worst ratio {worst:.3f}: {"within" if worst <= GOAL else "above"} the goal')
    return 0


if __name__ == '__main__':
    sys.exit(main())
