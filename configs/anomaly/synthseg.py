# SynthSeg (weights-free) anomaly maps, the default recipe: settings follow from the data.
#   python tools/train_anomaly_model.py configs/anomaly/synthseg.py \
#       --img-dir IMAGES --list TRAIN_LIST --work-dir WORK
#   python tools/generate_anomaly_maps.py configs/anomaly/synthseg.py \
#       --img-dir IMAGES --out-dir MAPS --cfg-options checkpoint=WORK/synthseg.pth
# Training and the network are those of synthseg_magnetic_tile.py; two settings differ:
#   * aspect='keep': input_size is a pixel budget; the trainer sets the input to that area at
#     the pool's median aspect ratio (BSData's 1130x460 -> 160x416), so wide or tall images are
#     not squashed and the map has the image's aspect. The checkpoint keeps the size.
#   * layout='auto': positional memories when the pool's alignment (share of the texture
#     statistics' variance explained by position, agssp.anomaly.synthseg.model.pool_alignment)
#     is >= 0.1, pooled otherwise; train_log.json's "model" records it. Measured on 150 images
#     each (texture statistics): BSData 0.75, Magnetic Tile 0.24, NEU-DET 0.01.
# Off here, measured beside it (benchmarks/map_generalisation.py, docs/synthseg.md): the
# self-similarity score (model.weights.self_similarity), model.normalisation='tail',
# model.centre='image' (each map less its own median) and model.centre='neighbours' (each map
# less the median map of its model.reference_k most alike pool images), for pools that mix
# sources.
_base_ = ['./synthseg_magnetic_tile.py']

input_size = (256, 256)

model = dict(input_size=input_size, aspect='keep', layout='auto', alignment_threshold=0.1)

# NEU-DET's iteration count (synthseg_neu.py), within a 10-minute budget on 2 cores.
train = dict(iterations=1000)

checkpoint = 'work_dirs/synthseg/synthseg.pth'
