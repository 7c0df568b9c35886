"""Run AGSSP end to end: anomaly maps, AGBP, pseudo boxes, AGDP, fine-tuning twice, report.

Each stage works in its own folder under the work dir and is skipped once complete, so a
stopped run resumes where it stopped: python tools/run_pipeline.py CONFIG [--work-dir W].
"""
import argparse
import sys
import time
from pathlib import Path

from mmengine.config import Config, DictAction


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='pipeline config, e.g. configs/pipeline/demo.py')
    parser.add_argument('--work-dir', help='default: the config\'s work_dir')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override pipeline settings, e.g. finetune.seeds=[0,1,2]')
    args = parser.parse_args()
    if not Path(args.config).is_file():
        print(f'error: config file not found: {args.config}', file=sys.stderr)
        return 2
    import agssp  # noqa: F401  (compat; stage configs register what they use)
    from agssp.pipeline import pipeline_stages, run_stages

    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    work_dir = Path(args.work_dir or cfg.get('work_dir') or f'work_dirs/{Path(args.config).stem}')
    start = time.time()

    def log(message):
        print(f'[{(time.time() - start) / 60:5.1f} min] {message}', flush=True)

    run_stages(pipeline_stages(cfg, work_dir.resolve(), log), work_dir, log)
    log(f'report: {work_dir / "report.md"}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
