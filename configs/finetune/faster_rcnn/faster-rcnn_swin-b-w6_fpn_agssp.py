# Fine-tuning Faster R-CNN (Swin-B window 6, FPN) from the whole AGDP detector (load_from; the
# single-class box classifier and regressor are skipped with a size-mismatch warning), inputs
# normalised as in AGBP; otherwise faster-rcnn_swin-b-w6_fpn_baseline.py. Extra key: load_from
# (tools/train.py --load-from).
_base_ = './faster-rcnn_swin-b-w6_fpn_baseline.py'
work_dir = 'work_dirs/{{ fileBasenameNoExtension }}/neu_det'
run_info = dict(pretraining='AGSSP')

load_from = 'work_dirs/faster-rcnn_swin-b-w6_fpn_agdp/epoch_10.pth'
model = dict(data_preprocessor=dict(mean=_base_.agbp_data.mean, std=_base_.agbp_data.std))
