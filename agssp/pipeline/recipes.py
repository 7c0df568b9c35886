"""The pipeline's ``detector=`` key: which AGBP, AGDP and fine-tuning recipe each shipped
detector family uses, and the backbone export between them (one table)."""
import copy

DEFAULT_DETECTOR = 'yolov8_s_cspdarknet'
_AGBP = 'configs/pretrain_agbp/'
_AGDP = 'configs/pretrain_agdp/'
_FT = 'configs/finetune/'
_SIMMIM_W6 = 'agbp_simmim_swin-base-w6_8xb56-500e_metal-192px.py'


def _row(agbp, agdp, finetune, target, swin_out_indices=None) -> dict:
    """One detector: its recipe file per stage and the agssp.engine.backbone_export arguments
    (target, Swin out_indices) that turn the AGBP checkpoint into the detector's backbone."""
    export = dict(target=target)
    if swin_out_indices is not None:
        export['swin_out_indices'] = swin_out_indices
    return dict(agbp=_AGBP + agbp, export=export, agdp=_AGDP + agdp, finetune=_FT + finetune)


DETECTORS = {
    'yolov8_s_cspdarknet': _row('agbp_cspdarknet-yolov8s_8xb128-200e_metal.py',
                                'yolov8_s_cspdarknet_agdp.py',
                                'yolo/yolov8_s_cspdarknet_baseline.py', 'mmyolo-cspdarknet'),
    'yolov8_s_resnet50': _row('agbp_resnet50_8xb128-200e_metal.py', 'yolov8_s_resnet50_agdp.py',
                              'yolo/yolov8_s_resnet50_baseline.py', 'mmdet-resnet'),
    'yolov8_s_swin-b-w6': _row(_SIMMIM_W6, 'yolov8_s_swin-b-w6_agdp.py',
                               'yolo/yolov8_s_swin-b-w6_baseline.py', 'mmdet-swin', (1, 2, 3)),
    'yolov8_s_swin-b-w7': _row('agbp_swin-base-w7_8xb80-200e_metal-224px.py',
                               'yolov8_s_swin-b-w7_agdp.py', 'yolo/yolov8_s_swin-b-w7_baseline.py',
                               'mmdet-swin', (1, 2, 3)),
    'faster-rcnn_swin-b-w6': _row(_SIMMIM_W6, 'faster-rcnn_swin-b-w6_fpn_agdp.py',
                                  'faster_rcnn/faster-rcnn_swin-b-w6_fpn_baseline.py',
                                  'mmdet-swin', (0, 1, 2, 3)),
    'dino_swin-b-w6': _row(_SIMMIM_W6, 'dino-4scale_swin-b-w6_agdp.py',
                           'dino/dino-4scale_swin-b-w6_baseline.py', 'mmdet-swin', (1, 2, 3)),
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
