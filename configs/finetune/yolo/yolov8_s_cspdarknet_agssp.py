# Fine-tuning YOLOv8-s (CSPDarknet) from the whole AGDP detector (AGBP backbone + AGDP neck and
# head): load_from the AGDP checkpoint; its single-class layers (the classification convs) do
# not fit this dataset's classes and are skipped with a size-mismatch warning. Inputs normalised
# as in AGBP; otherwise yolov8_s_cspdarknet_baseline.py. Overridable keys: those of the
# baseline, and load_from (tools/train.py --load-from).
_base_ = './yolov8_s_cspdarknet_baseline.py'
work_dir = 'work_dirs/{{ fileBasenameNoExtension }}/neu_det'
run_info = dict(pretraining='AGSSP')

load_from = 'work_dirs/yolov8_s_cspdarknet_agdp/epoch_10.pth'
model = dict(data_preprocessor=dict(mean=_base_.agbp_data.mean, std=_base_.agbp_data.std))
