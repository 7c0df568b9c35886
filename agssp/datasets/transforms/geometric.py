"""Geometric transforms that upstream applies to the image only, extended to the anomaly map."""
from mmpretrain.datasets.transforms import RandomResizedCrop

from agssp.core.anomaly_maps import resize_map
from agssp.registry import MMPRETRAIN_TRANSFORMS, register_into


@register_into(MMPRETRAIN_TRANSFORMS)
class RandomResizedCropWithMap(RandomResizedCrop):
    """mmpretrain's ``RandomResizedCrop`` that crops ``gt_seg_map`` with the same box.

    The image goes through the upstream transform unchanged; the map is cut with the same random
    box and resized bilinearly (:func:`resize_map`) to the output size. Without a map it is the
    upstream transform.
    """

    def transform(self, results: dict) -> dict:
        seg_map = results.get('gt_seg_map')
        if seg_map is None:
            return super().transform(results)
        img_hw = results['img'].shape[:2]
        if seg_map.shape[:2] != img_hw:
            raise ValueError(f"{results.get('img_path', '<image>')}: gt_seg_map "
                             f'{seg_map.shape[:2]} does not match the image {img_hw}; '
                             'a transform between LoadAnomalyMap and this crop moved only '
                             'one of them')
        top, left, height, width = box = self.rand_crop_params(results['img'])
        # Pin the drawn box for upstream's transform (an instance attribute shadows the
        # class's random method for this one call), so that image and map share it.
        self.rand_crop_params = lambda img: box
        try:
            results = super().transform(results)
        finally:
            del self.rand_crop_params
        crop = seg_map[top:top + height, left:left + width]
        results['gt_seg_map'] = resize_map(crop, results['img'].shape[:2])
        return results
