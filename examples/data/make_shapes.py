"""Generate examples/data/shapes/{train,test}/ for images_folder.tl: two folder-per-class image
datasets (the layout Keras's image_dataset_from_directory reads) of 24x24 grey PNG drawings of
three shapes, each at a random place, size and brightness, on a noisy background. Seeded, so
running it again gives the same files.

    python examples/data/make_shapes.py
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SIZE = 24
PER_CLASS = {"train": 100, "test": 30}
CLASSES = ("circle", "square", "triangle")


def draw(shape: str, rng: np.random.Generator) -> Image.Image:
    """One picture of the shape."""
    noise = rng.integers(0, 60, (SIZE, SIZE), dtype=np.uint8)
    im = Image.fromarray(noise, "L")
    r = int(rng.integers(5, 10))
    cx, cy = (int(v) for v in rng.integers(r + 1, SIZE - r - 1, 2))
    ink = int(rng.integers(160, 256))
    pen = ImageDraw.Draw(im)
    if shape == "circle":
        pen.ellipse((cx - r, cy - r, cx + r, cy + r), fill=ink)
    elif shape == "square":
        pen.rectangle((cx - r, cy - r, cx + r, cy + r), fill=ink)
    else:
        pen.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=ink)
    return im


if __name__ == "__main__":
    rng = np.random.default_rng(11)
    for part, count in PER_CLASS.items():
        root = Path(__file__).with_name("shapes") / part
        for name in CLASSES:
            (root / name).mkdir(parents=True, exist_ok=True)
            for i in range(count):
                draw(name, rng).save(root / name / f"{i:03d}.png", optimize=True)
        print(f"wrote {root}: {len(CLASSES)} classes of {count} {SIZE}x{SIZE} PNG images")
