# Fine-tuning DINO (Swin-B window 6) from the whole AGDP detector (load_from; the single-class
# classification branches and denoising label embedding are skipped with a size-mismatch
# warning), inputs normalised as in AGBP; otherwise dino-4scale_swin-b-w6_baseline.py. Extra
# key: load_from (tools/train.py --load-from).
_base_ = './dino-4scale_swin-b-w6_baseline.py'
work_dir = 'work_dirs/{{ fileBasenameNoExtension }}/neu_det'
run_info = dict(pretraining='AGSSP')

load_from = 'work_dirs/dino-4scale_swin-b-w6_agdp/epoch_10.pth'
model = dict(data_preprocessor=dict(mean=_base_.agbp_data.mean, std=_base_.agbp_data.std))
