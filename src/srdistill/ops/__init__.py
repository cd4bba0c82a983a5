"""Image operations: MATLAB-compatible resize, colour conversion, tiling."""

from srdistill.ops.color import rgb_to_y, rgb_to_ycbcr, ycbcr_to_rgb
from srdistill.ops.imresize import imresize, resize_weights

__all__ = ["imresize", "resize_weights", "rgb_to_y", "rgb_to_ycbcr", "ycbcr_to_rgb"]
