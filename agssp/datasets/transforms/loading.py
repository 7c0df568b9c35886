"""Loading an image's anomaly map as a seg-map field, which geometric transforms move too."""
from mmcv.transforms import BaseTransform

from agssp.core.anomaly_maps import load_anomaly_map, resize_map
from agssp.registry import MMPRETRAIN_TRANSFORMS, register_into


@register_into(MMPRETRAIN_TRANSFORMS)
class LoadAnomalyMap(BaseTransform):
    """Load ``results['map_path']`` into ``results['gt_seg_map']`` at the image's size.

    The map (float32, 2-D, finite: :func:`load_anomaly_map`, errors name the file) is resized
    bilinearly to the loaded image so that every later geometric transform that moves
    ``gt_seg_map`` (mmcv ``RandomFlip``, ``Resize``, ``RandomResize``, ``CenterCrop``; agssp's
    ``RandomResizedCropWithMap``; mmseg's through ``seg_fields``) keeps it aligned with the
    image. Photometric transforms only touch ``img``. The map's own size is kept in
    ``anomaly_map_shape``. Put it right after ``LoadImageFromFile``.
    """

    def transform(self, results: dict) -> dict:
        if 'img' not in results:
            raise KeyError('LoadAnomalyMap needs the image: put it after LoadImageFromFile')
        map_path = results.get('map_path')
        if not map_path:
            raise KeyError(f"{results.get('img_path', '<image>')}: no 'map_path' in the sample; "
                           'give the dataset a map root (data_prefix map_path)')
        anomaly_map = load_anomaly_map(map_path)
        results['anomaly_map_shape'] = anomaly_map.shape
        results['gt_seg_map'] = resize_map(anomaly_map, results['img'].shape[:2])
        seg_fields = results.setdefault('seg_fields', [])
        if 'gt_seg_map' not in seg_fields:
            seg_fields.append('gt_seg_map')
        return results

    def __repr__(self):
        return f'{type(self).__name__}()'
