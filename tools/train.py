"""Train any agssp / OpenMMLab config with mmengine's Runner."""
import argparse

from agssp.engine import add_adapter_args, add_runner_args, build_runner
from agssp.engine.runner_setup import test_kept_checkpoint


def main():
    parser = add_adapter_args(add_runner_args(argparse.ArgumentParser(description=__doc__)))
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: float16 AmpOptimWrapper, dynamic loss scale '
                        '(CUDA only; on the CPU it stops with a message)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by the total batch size (GPUs x batch per GPU) '
                        'over the config\'s auto_scale_lr.base_batch_size')
    parser.add_argument('--resume', nargs='?', const='auto', default=None,
                        help='resume from the latest checkpoint in the work dir, '
                        'or from the checkpoint given')
    parser.add_argument('--test-best', action='store_true',
                        help='after training, test the checkpoint chosen on the validation split '
                        "(the config's save_best; else the last) on the test split, in this "
                        'process (the same figures as tools/test.py with that checkpoint)')
    args = parser.parse_args()
    runner = build_runner(args)
    runner.train()
    if args.test_best:
        test_kept_checkpoint(runner)


if __name__ == '__main__':
    main()
