"""Turn an AGBP checkpoint into a backbone-only checkpoint for AGDP / fine-tuning detectors.

Examples:
    python tools/model_converters/agbp_to_backbone.py work_dirs/agbp/epoch_200.pth \
        work_dirs/agbp/cspdarknet_backbone.pth --target mmyolo-cspdarknet \
        --check-config configs/finetune/yolo/yolov8_s_cspdarknet_demo.py
    python tools/model_converters/agbp_to_backbone.py simmim_agbp.pth swin_b_w7.pth \
        --target mmdet-swin --swin-out-indices 1 2 3 --window-size 7

Load the result with backbone init_cfg=dict(type='Pretrained', checkpoint=OUT,
prefix='backbone.') (mmyolo CSPDarknet, mmdet ResNet), with convert_weights=False and
init_cfg=dict(type='Pretrained', checkpoint=OUT) (mmdet Swin), or as load_from=OUT.
--check-config builds the backbone of a detector config and fails (exit 1) unless the
checkpoint gives it exactly its keys with their shapes. Exit 2: bad input.
"""
import argparse
import sys
from pathlib import Path

from agssp.engine.backbone_export import (TARGETS, BackboneExportError, compare_with_backbone,
                                          export_backbone, load_agbp_state_dict,
                                          save_backbone_checkpoint)


def build_config_backbone(config_path):
    """The backbone module of a detector config (built in the config's default scope)."""
    from mmengine.registry import MODELS, init_default_scope

    from agssp.engine import load_config
    cfg = load_config(config_path)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    return MODELS.build(cfg.model.backbone)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('src', help='AGBP checkpoint (mmengine .pth)')
    p.add_argument('dst', help='backbone checkpoint to write')
    p.add_argument('--target', required=True, choices=TARGETS)
    p.add_argument('--source-prefix', default='backbone.',
                   help='prefix of the backbone keys in the AGBP checkpoint')
    p.add_argument('--swin-out-indices', type=int, nargs='+', default=[0, 1, 2, 3],
                   help='mmdet-swin: the detector backbone out_indices (one norm per index)')
    p.add_argument('--window-size', type=int, default=None,
                   help='mmdet-swin: the detector window size, when it differs from AGBP')
    p.add_argument('--check-config', help='detector config whose backbone must load the result '
                   'with zero missing and zero unexpected keys')
    args = p.parse_args(argv)
    if not Path(args.src).is_file():
        print(f'error: checkpoint not found: {args.src}', file=sys.stderr)
        return 2
    try:
        state, report = export_backbone(
            load_agbp_state_dict(args.src), args.target, args.source_prefix,
            args.swin_out_indices, args.window_size)
    except BackboneExportError as exc:
        print(f'error: {args.src}: {exc}', file=sys.stderr)
        return 2
    meta = dict(source=str(args.src), target=args.target, **report)
    save_backbone_checkpoint(args.dst, state, meta)
    print(f'{len(state)} backbone tensors written to {args.dst} ({args.target})')
    for kind in ('dropped', 'added', 'resized'):
        if report[kind]:
            print(f'{kind}: {", ".join(report[kind])}')
    if args.check_config:
        found = compare_with_backbone(build_config_backbone(args.check_config), state)
        print(f"{args.check_config}: {len(found['missing'])} missing, "
              f"{len(found['unexpected'])} unexpected keys, "
              f"{len(found['shape_mismatch'])} shape mismatches")
        for kind, keys in found.items():
            for key in keys:
                print(f'{kind} {key}')
        if any(found.values()):
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
