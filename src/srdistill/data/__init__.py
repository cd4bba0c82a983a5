"""Image IO, datasets (training patches, benchmark sets) and the dataset catalog."""

from srdistill.data.datasets import EvalImage, TrainPatches, load_benchmark, load_image_set
from srdistill.data.io import ImageInfo, read_image, write_image

__all__ = [
    "EvalImage",
    "ImageInfo",
    "TrainPatches",
    "load_benchmark",
    "load_image_set",
    "read_image",
    "write_image",
]
