"""Write one anomaly map (.npy, float16) per image of a folder, resumable and sharded.

Examples:
    python tools/generate_anomaly_maps.py CONFIG --img-dir data/images --out-dir work_dirs/maps
    torchrun --nproc_per_node 2 tools/generate_anomaly_maps.py CONFIG --img-dir D --out-dir O \
        --launcher pytorch

Restarting with the same arguments finishes an interrupted run. Exit status: 0 when every image
has a map or is listed as skipped in <out-dir>/manifest.json, 1 on errors or missing maps.
"""
import argparse
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.dist import get_dist_info  # noqa: E402

METHOD_KEYS = ('model', 'checkpoint', 'reference_dir', 'reference_images', 'reference_suffixes')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config with model=dict(type=...) and generator settings')
    parser.add_argument('--img-dir', required=True, help='folder of images (searched recursively)')
    parser.add_argument('--out-dir', required=True, help='folder of maps (mirrors --img-dir)')
    parser.add_argument('--suffixes', nargs='+', default=None,
                        help='image suffixes to take, e.g. .jpg (default: every image suffix; '
                             'use .jpg for Magnetic Tile, whose masks are .png)')
    parser.add_argument('--device', default=None,
                        help='cpu or cuda (default: cuda:<local rank> when available)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. batch_size=16 num_workers=4')
    parser.add_argument('--launcher', choices=('none', 'pytorch', 'slurm', 'mpi'),
                        default='none', help='job launcher (pytorch: started by torchrun)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads of each process (default: torch\'s own choice; '
                             'on a shared CPU machine 1 per process avoids oversubscription)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    import agssp.anomaly  # noqa: F401  (registration)
    from agssp.anomaly.build import build_anomaly_model
    from agssp.anomaly.writer import generate_anomaly_maps, init_distributed
    from agssp.engine import load_config

    cfg = load_config(args.config, args.cfg_options)
    if args.launcher != 'none':
        os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    init_distributed(args.launcher)
    rank, world_size = get_dist_info()
    logging.basicConfig(level=logging.INFO if rank == 0 else logging.WARNING,
                        format=f'%(asctime)s rank{rank} %(levelname)s %(message)s')
    device = args.device or (f'cuda:{int(os.environ.get("LOCAL_RANK", 0))}'
                             if torch.cuda.is_available() else 'cpu')
    model = build_anomaly_model(cfg, device=device)
    settings = {k: cfg.get(k) for k in METHOD_KEYS}
    manifest = generate_anomaly_maps(
        model, args.img_dir, args.out_dir, batch_size=cfg.get('batch_size', 8),
        num_workers=cfg.get('num_workers', 2), dtype=cfg.get('dtype', 'float16'),
        suffixes=args.suffixes, device=device, settings=settings,
        progress=not args.no_progress)
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    if manifest is None:
        return 0
    counts = manifest['counts']
    print(f'{counts["written"]} maps in {args.out_dir} ({manifest["run"]["written"]} this run), '
          f'{counts["skipped"]} images skipped, {counts["missing"]} missing; '
          f'see {Path(args.out_dir) / "manifest.json"}')
    for entry in manifest['skipped'][:20]:
        print(f'  skipped {entry["image"]}: {entry["reason"]}')
    return 1 if counts['missing'] else 0


if __name__ == '__main__':
    sys.exit(main())
