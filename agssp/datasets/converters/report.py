"""A conversion's outcome: a printable summary (counts, boxes per category, skips by kind), the
COCO file written, and the exit code of a converter CLI."""
import sys
import time
from collections import Counter
from functools import partial

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm


def skip_kinds(skipped) -> Counter:
    """Skips counted by kind: the reason text before its first ':'."""
    return Counter(s['reason'].split(':', 1)[0] for s in skipped)


def conversion_report(writer, examples=5) -> str:
    """Summary lines for a :class:`~agssp.core.coco.CocoWriter` after a conversion."""
    summary = writer.summary()
    boxes = Counter(a['category_id'] for a in writer.annotations)
    lines = ['summary: ' + ', '.join(f'{k}={v}' for k, v in summary.items()),
             'boxes per category: ' + ', '.join(
                 f'{name}={boxes.get(i, 0)}' for i, name in enumerate(writer.categories, 1))]
    if writer.skipped:
        lines.append('skipped by kind: ' + ', '.join(
            f'{kind}={n}' for kind, n in sorted(skip_kinds(writer.skipped).items())))
        lines += [f'  {s["file"]}: {s["reason"]}' for s in writer.skipped[:examples]]
        if len(writer.skipped) > examples:
            lines.append(f'  ... {len(writer.skipped) - examples} more')
    return '\n'.join(lines)


def dump_and_report(writer, out_file, fail_on_skip=False) -> int:
    """Write the COCO file, print the report and return a CLI exit code.

    0: written; 1: nothing converted (no file written); 3: written, but inputs were skipped and
    ``fail_on_skip`` is set.
    """
    print(conversion_report(writer))
    if not writer.images:
        print('error: no image was converted; nothing written')
        return 1
    out_file = writer.dump(out_file)
    print(f'wrote {out_file}')
    if writer.skipped:
        print(f'skipped inputs listed in {out_file.with_name(out_file.stem + ".skipped.json")}')
    return 3 if writer.skipped and fail_on_skip else 0


def convert_and_report(convert, out_file, fail_on_skip=False, desc='files'):
    """A converter CLI's run: ``convert(progress)`` (returning a CocoWriter) under a progress
    bar, then :func:`dump_and_report`. Returns ``(exit code, writer)``; code 2 (message on
    stderr, writer None) when the inputs cannot be read at all (missing folder, bad argument)."""
    start = time.time()
    try:
        with logging_redirect_tqdm():
            writer = convert(partial(tqdm, desc=desc, unit='file'))
    except (OSError, ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2, None
    code = dump_and_report(writer, out_file, fail_on_skip)
    print(f'wall time: {time.time() - start:.1f} s')
    return code, writer
