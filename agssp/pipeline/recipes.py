"""The pipeline's ``detector=`` key: which AGBP, AGDP and fine-tuning recipe each shipped
detector family uses, and the backbone export between them (one table)."""
import copy

DEFAULT_DETECTOR = 'yolov8_s_cspdarknet'
_AGBP = 'configs/pretrain_agbp/'
_AGDP = 'configs/pretrain_agdp/'
_FT = 'configs/finetune/'
_SIMMIM_W6 = _AGBP + 'agbp_simmim_swin-base-w6_8xb56-500e_metal-192px.py'
_SWIN_W7 = _AGBP + 'agbp_swin-base-w7_8xb80-200e_metal-224px.py'

# detector -> recipe file per stage and the agssp.engine.backbone_export arguments (target,
# Swin out_indices) that turn the AGBP checkpoint into the detector's backbone.
DETECTORS = {
    'yolov8_s_cspdarknet': dict(
        agbp=_AGBP + 'agbp_cspdarknet-yolov8s_8xb128-200e_metal.py',
        export=dict(target='mmyolo-cspdarknet'),
        agdp=_AGDP + 'yolov8_s_cspdarknet_agdp.py',
        finetune=_FT + 'yolo/yolov8_s_cspdarknet_baseline.py'),
    'yolov8_s_resnet50': dict(
        agbp=_AGBP + 'agbp_resnet50_8xb128-200e_metal.py',
        export=dict(target='mmdet-resnet'),
        agdp=_AGDP + 'yolov8_s_resnet50_agdp.py',
        finetune=_FT + 'yolo/yolov8_s_resnet50_baseline.py'),
    'yolov8_s_swin-b-w6': dict(
        agbp=_SIMMIM_W6, export=dict(target='mmdet-swin', swin_out_indices=(1, 2, 3)),
        agdp=_AGDP + 'yolov8_s_swin-b-w6_agdp.py',
        finetune=_FT + 'yolo/yolov8_s_swin-b-w6_baseline.py'),
    'yolov8_s_swin-b-w7': dict(
        agbp=_SWIN_W7, export=dict(target='mmdet-swin', swin_out_indices=(1, 2, 3)),
        agdp=_AGDP + 'yolov8_s_swin-b-w7_agdp.py',
        finetune=_FT + 'yolo/yolov8_s_swin-b-w7_baseline.py'),
    'faster-rcnn_swin-b-w6': dict(
        agbp=_SIMMIM_W6, export=dict(target='mmdet-swin', swin_out_indices=(0, 1, 2, 3)),
        agdp=_AGDP + 'faster-rcnn_swin-b-w6_fpn_agdp.py',
        finetune=_FT + 'faster_rcnn/faster-rcnn_swin-b-w6_fpn_baseline.py'),
    'dino_swin-b-w6': dict(
        agbp=_SIMMIM_W6, export=dict(target='mmdet-swin', swin_out_indices=(1, 2, 3)),
        agdp=_AGDP + 'dino-4scale_swin-b-w6_agdp.py',
        finetune=_FT + 'dino/dino-4scale_swin-b-w6_baseline.py'),
}


def detector_recipes(name) -> dict:
    """The table's row for ``name``; a clear error naming the known detectors otherwise."""
    if name not in DETECTORS:
        raise ValueError(f'detector={name!r} is not a shipped detector '
                         f'(known: {", ".join(DETECTORS)})')
    return copy.deepcopy(DETECTORS[name])


def with_detector_recipes(cfg):
    """``cfg`` (a pipeline config) with every stage that names no ``config`` given the recipe
    of ``cfg.detector`` (default yolov8_s_cspdarknet); the AGBP stage also gets the export
    ``target`` (and ``swin_out_indices``) when it names none. Stages naming a recipe keep it."""
    row = detector_recipes(cfg.get('detector', DEFAULT_DETECTOR))
    cfg.detector = cfg.get('detector', DEFAULT_DETECTOR)
    for stage in ('agbp', 'agdp', 'finetune'):
        section = cfg.get(stage)
        if section is None:
            cfg[stage] = section = {}
        if not section.get('config'):
            section['config'] = row[stage]
            if stage == 'agbp':
                for key, value in row['export'].items():
                    section.setdefault(key, value)
        elif stage == 'agbp':
            section.setdefault('target', row['export']['target'])
    return cfg
