"""A printable summary of a conversion: counts, boxes per category, skips grouped by kind."""
from collections import Counter


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
