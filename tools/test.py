"""Evaluate a trained checkpoint on a config's test set with mmengine's Runner."""
import argparse

from agssp.engine import add_adapter_args, add_runner_args, build_runner


def main():
    parser = add_runner_args(argparse.ArgumentParser(description=__doc__))
    parser.add_argument('checkpoint', help='checkpoint file to evaluate')
    add_adapter_args(parser, training=False)
    args = parser.parse_args()
    build_runner(args).test()


if __name__ == '__main__':
    main()
