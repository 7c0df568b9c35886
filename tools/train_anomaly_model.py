"""Train a weights-free anomaly-map method (SynthSeg) on a folder or list of unlabelled images.

Examples:
    python tools/train_anomaly_model.py configs/anomaly/synthseg_magnetic_tile.py \
        --img-dir ../shared/data/magnetic-tile/MT_Free --work-dir work_dirs/synthseg_mt
    python tools/train_anomaly_model.py configs/anomaly/synthseg_neu.py \
        --img-dir ../shared/data/neu-det --list train.txt --work-dir work_dirs/synthseg_neu

Trains with mmengine's Runner (agssp.anomaly.synthseg.trainer): checkpoints iter_<i>.pth and
last_checkpoint, the log and <timestamp>/vis_data/scalars.json in the work dir; an interrupted
run resumes from the last checkpoint. Writes <work-dir>/synthseg.pth (load it with
checkpoint=... in the map-generation config), train_log.json and loss_curve.png. Several
processes: torchrun --nproc_per_node N tools/train_anomaly_model.py ... --launcher pytorch.
Exit status: 0 trained, 1 bad input (message names the file).
"""
import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmengine.config import DictAction  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config with model=dict(type=...) and train=dict(...)')
    parser.add_argument('--img-dir', required=True,
                        help='folder of training images (searched recursively), or the root '
                             'that --list paths are relative to')
    parser.add_argument('--list', default=None,
                        help='text file, one image path per line relative to --img-dir')
    parser.add_argument('--suffixes', nargs='+', default=None,
                        help='image suffixes taken from --img-dir, e.g. .jpg (default: all)')
    parser.add_argument('--work-dir', default=None,
                        help='output folder (default: work_dirs/<config name>)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. train.iterations=100')
    parser.add_argument('--no-resume', action='store_true',
                        help='start afresh even if <work-dir> holds a checkpoint')
    parser.add_argument('--launcher', choices=('none', 'pytorch'), default='none',
                        help='pytorch: one of the processes torchrun started')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(message)s')
    import agssp.anomaly  # noqa: F401  (registration)
    from agssp.anomaly.synthseg.trainer import read_image_list, train_from_config
    from agssp.anomaly.writer import select_images
    from agssp.engine import load_config

    cfg = load_config(args.config, args.cfg_options)
    work_dir = Path(args.work_dir or Path('work_dirs') / Path(args.config).stem)
    try:
        if args.list:
            paths = read_image_list(args.list, args.img_dir)
        else:
            paths = [Path(args.img_dir) / rel for rel in select_images(args.img_dir,
                                                                       args.suffixes)]
            if not paths:
                raise FileNotFoundError(f'no images under {args.img_dir}')
        log = train_from_config(cfg, paths, work_dir, resume=not args.no_resume,
                                progress=not args.no_progress, launcher=args.launcher)
    except (FileNotFoundError, ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    print(f'trained on {log["images"]} images ({len(log["skipped"])} skipped) in '
          f'{log["total_seconds"]:.0f} s ({log["train_seconds"]:.0f} s training, '
          f'{log["fit_seconds"]:.0f} s fitting); model: {work_dir / "synthseg.pth"}')
    for entry in log['skipped'][:20]:
        print(f'  skipped {entry["image"]}: {entry["reason"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
