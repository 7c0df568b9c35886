# KeAD anomaly maps for Magnetic Tile; everything but the knowledge file as for NEU-DET.
_base_ = ['./kead_vitb16plus240_neu.py']

model = dict(knowledge='magnetic_tile')
