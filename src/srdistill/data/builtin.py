"""The built-in default dataset: colour photographs shipped inside scikit-image.

They load offline, so ``srdistill demo`` runs on a fresh machine with no download.
The split is fixed: six images to train on, two held out for testing.
"""

from __future__ import annotations

import numpy as np

TRAIN_IMAGES = (
    "astronaut",
    "coffee",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "stereo_motorcycle",
)
TEST_IMAGES = ("chelsea", "rocket")
SPLITS = {"builtin": TRAIN_IMAGES, "builtin-train": TRAIN_IMAGES, "builtin-test": TEST_IMAGES}


def load_builtin(split: str) -> list[tuple[str, np.ndarray]]:
    """(name, HWC uint8 RGB array) for each image of ``split`` ('builtin-train'/'-test')."""
    import skimage.data

    images = []
    for name in SPLITS[split]:
        img = getattr(skimage.data, name)()
        if isinstance(img, tuple):  # stereo_motorcycle returns (left, right, disparity)
            img = img[0]
        images.append((name, np.ascontiguousarray(img[..., :3], dtype=np.uint8)))
    return images
