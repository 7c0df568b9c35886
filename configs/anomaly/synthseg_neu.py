# SynthSeg (weights-free) anomaly maps for NEU-DET, trained on NEU-DET's unlabelled images
# (none of them is defect-free; the synthetic-defect loss and the trimmed memories cope).
_base_ = ['./synthseg_magnetic_tile.py']

input_size = (224, 224)

# NEU-DET images are not aligned crops of one part: the memories pool all cells.
model = dict(input_size=input_size, layout='global')

train = dict(iterations=1000)

checkpoint = 'work_dirs/synthseg_neu/synthseg.pth'
