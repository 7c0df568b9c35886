"""Speed of the whole map generator against the bare model forward, same images, same run.

For each method the same N images are (a) decoded and resized beforehand and pushed through
``model(batch)`` alone (the bare forward), and (b) written to a temporary folder and run
through :func:`agssp.anomaly.writer.generate_anomaly_maps` (decoding in workers, forward,
float16 saves, manifest). Both are timed ``--repeats`` times, alternating, and the fastest of
each counts (other load on the machine only slows a run down). Printed: images/s of both and
the ratio generator time / bare time (goal: <= 1.5). Images come from
../shared/data/magnetic-tile when present, else random images.

Methods: KeAD with a randomly initialised ViT-B-16-plus-240 (zero-shot; speed does not depend
on the weights) and the weights-free method (``--weights-free TYPE``, untrained network, its
memories fitted on up to 32 of the images), each skipped with a message when not registered.

    python benchmarks/anomaly_maps.py --num-images 32 --threads 1
"""
import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import agssp.anomaly  # noqa: E402,F401  (registration)
from agssp.anomaly.build import build_anomaly_model  # noqa: E402
from agssp.anomaly.image_input import load_model_input  # noqa: E402
from agssp.anomaly.registry import ANOMALY_MODELS  # noqa: E402
from agssp.anomaly.writer import generate_anomaly_maps  # noqa: E402

MAGNETIC_TILE = REPO.parent / 'shared' / 'data' / 'magnetic-tile'
KEAD = dict(type='KeAD', knowledge='magnetic_tile', random_init=True, k_shot=0)
GOAL = 1.5


def stage_images(folder: Path, count: int) -> str:
    """Copy ``count`` Magnetic Tile images (or write random ones) into ``folder``."""
    sources = sorted(MAGNETIC_TILE.rglob('*.jpg'))[:count] if MAGNETIC_TILE.is_dir() else []
    if len(sources) == count:
        for i, src in enumerate(sources):
            shutil.copy(src, folder / f'{i:05d}.jpg')
        return f'{count} Magnetic Tile images'
    import cv2
    rng = np.random.default_rng(0)
    for i in range(count):
        cv2.imwrite(str(folder / f'{i:05d}.jpg'), rng.integers(0, 255, (300, 400, 3), np.uint8))
    return f'{count} random 400x300 images (Magnetic Tile not found at {MAGNETIC_TILE})'


def synchronize(device):
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize(device)


def bare_forward_seconds(model, img_dir: Path, batch_size: int, device) -> float:
    """Time of ``model(batch)`` over the images, decoded and on the device beforehand."""
    inputs = torch.stack([load_model_input(p, model.input_size)
                          for p in sorted(img_dir.glob('*.jpg'))]).to(device)
    batches = inputs.split(batch_size)
    with torch.no_grad():
        model(batches[0])  # warm-up
        synchronize(device)
        start = time.perf_counter()
        for batch in batches:
            model(batch)
        synchronize(device)
    return time.perf_counter() - start


def generator_seconds(model, img_dir: Path, out_dir: Path, batch_size: int, num_workers: int,
                      device) -> float:
    start = time.perf_counter()
    manifest = generate_anomaly_maps(model, img_dir, out_dir, batch_size=batch_size,
                                     num_workers=num_workers, device=device, progress=False)
    synchronize(device)
    seconds = time.perf_counter() - start
    if manifest['counts']['written'] != manifest['counts']['images']:
        raise RuntimeError(f'the generator wrote {manifest["counts"]} maps, expected all')
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-images', type=int, default=32)
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--num-workers', type=int, default=2)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--repeats', type=int, default=3,
                        help='timings per side; the fastest counts')
    parser.add_argument('--weights-free', default='SynthSeg',
                        help='registry name of the weights-free method (built with defaults)')
    parser.add_argument('--methods', nargs='+', default=['kead', 'weights-free'],
                        choices=['kead', 'weights-free'])
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        img_dir = Path(tmp) / 'images'
        img_dir.mkdir()
        source = stage_images(img_dir, args.num_images)
        print(f'{source}; batch {args.batch_size}, {args.num_workers} workers, '
              f'device {args.device}, {torch.get_num_threads()} torch threads')
        configs = {'kead': dict(model=KEAD),
                   # Memories fitted on 8 images were degenerate: some scores passed float16's
                   # range and the writer skipped those maps (listed); 32 keeps them finite.
                   'weights-free': dict(model=dict(type=args.weights_free), reference_dir=img_dir,
                                        reference_images=min(32, args.num_images))}
        for name in args.methods:
            cfg = configs[name]
            if cfg['model']['type'] not in ANOMALY_MODELS.module_dict:
                print(f'{name}: skipped, {cfg["model"]["type"]!r} is not registered in '
                      f'ANOMALY_MODELS (registered: {sorted(ANOMALY_MODELS.module_dict)})')
                continue
            model = build_anomaly_model(cfg, device=args.device)
            bare, whole = [], []
            for repeat in range(args.repeats):
                bare.append(bare_forward_seconds(model, img_dir, args.batch_size, args.device))
                whole.append(generator_seconds(model, img_dir, Path(tmp) / f'{name}_{repeat}',
                                               args.batch_size, args.num_workers, args.device))
            bare, whole = min(bare), min(whole)
            rows.append((name, args.num_images / bare, args.num_images / whole, whole / bare))
            del model
    print(f'{"method":<14}{"bare img/s":>12}{"generator img/s":>17}{"ratio":>8}  goal <= {GOAL}')
    for name, bare_rate, gen_rate, ratio in rows:
        print(f'{name:<14}{bare_rate:>12.2f}{gen_rate:>17.2f}{ratio:>8.2f}  '
              f'{"ok" if ratio <= GOAL else "above goal"}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
