"""Generate the embedded demo dataset (synthetic metal surfaces with defects)."""
import argparse
import time

from agssp.demo import generate_demo_dataset


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('out_dir', nargs='?', default='data/demo', help='output folder')
    parser.add_argument('--num-unlabelled', type=int, default=600)
    parser.add_argument('--num-train', type=int, default=60)
    parser.add_argument('--num-val', type=int, default=60)
    parser.add_argument('--size', type=int, default=256)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    start = time.time()
    meta = generate_demo_dataset(args.out_dir, args.num_unlabelled, args.num_train,
                                 args.num_val, args.size, args.seed)
    print(f'demo data in {args.out_dir}: {meta["num_unlabelled"]} unlabelled, '
          f'{meta["num_train"]} train, {meta["num_val"]} val images of {meta["size"]} px, '
          f'classes {", ".join(meta["classes"])} ({time.time() - start:.1f} s)')


if __name__ == '__main__':
    main()
