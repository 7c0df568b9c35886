# Fine-tuning YOLOv8-s on Swin-B (window 6) from the whole AGDP detector (load_from; the
# single-class classification convs are skipped with a size-mismatch warning), inputs
# normalised as in AGBP; otherwise yolov8_s_swin-b-w6_baseline.py. Extra key: load_from
# (tools/train.py --load-from).
_base_ = './yolov8_s_swin-b-w6_baseline.py'
work_dir = 'work_dirs/{{ fileBasenameNoExtension }}/neu_det'
run_info = dict(pretraining='AGSSP')

load_from = 'work_dirs/yolov8_s_swin-b-w6_agdp/epoch_10.pth'
model = dict(data_preprocessor=dict(mean=_base_.agbp_data.mean, std=_base_.agbp_data.std))
