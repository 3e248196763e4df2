"""Image-folder datasets, the layout Keras's `image_dataset_from_directory` reads: one subfolder
per class, PNG or JPEG files in each. `images(path, size, channels)` gives the pixels as
u8[N, channels, H, W] and `labels(path)` the class ids i64[N] (classes in sorted order of their
folder names, files in sorted order within a class), so the two fields of a data block line up.
Pillow is imported here only, when a block reads images. Every problem is a DataError naming
the folder or the file: no classes, a file that is no image or cannot be read, images of mixed
sizes without `size`, a channel count other than 1, 3 or 4."""

from __future__ import annotations

import os

import numpy as np

from ..errors import DataError
from ..source import Span
from .loaders import resolve_path

EXTENSIONS = (".png", ".jpg", ".jpeg")
MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def listing(path: str, span: Span | None, base_dir: str | None) -> list[tuple[str, int]]:
    """(file, class id) for every image of the folder, in order; hidden files are skipped."""
    root = resolve_path(path, base_dir if base_dir is not None else os.getcwd())
    if not os.path.isdir(root):
        what = "is a file, not a folder" if os.path.exists(root) else "not found"
        raise DataError(f'image folder "{path}" {what}', span)
    classes = sorted(d for d in os.listdir(root)
                     if not d.startswith(".") and os.path.isdir(os.path.join(root, d)))
    if not classes:
        raise DataError(f'image folder "{path}" has no classes: it needs one subfolder per '
                        "class, holding that class's images", span)
    out = []
    for k, name in enumerate(classes):
        folder = os.path.join(root, name)
        for f in sorted(os.listdir(folder)):
            if f.startswith("."):
                continue
            if not f.lower().endswith(EXTENSIONS):
                raise DataError(f'"{os.path.join(path, name, f)}" is no image: the image '
                                "folder takes .png, .jpg and .jpeg files", span)
            out.append((os.path.join(folder, f), k))
    if not out:
        raise DataError(f'image folder "{path}" holds no images', span)
    return out


def load_images(path: str, size=None, channels: int = 3, span: Span | None = None, *,
                base_dir: str | None = None) -> np.ndarray:
    """Every image of the folder as u8[N, channels, H, W], resized to size = [H, W] if given."""
    if channels not in MODES:
        raise DataError(f"images(): channels must be 1, 3 or 4, not {channels}", span)
    shape = _size(size, span)
    files = listing(path, span, base_dir)
    first = None
    out = None
    for i, (file, _) in enumerate(files):
        pixels = _read(file, path, MODES[channels], shape, span)
        if out is None:
            first = file
            out = np.empty((len(files), channels, *pixels.shape[:2]), np.uint8)
        elif pixels.shape[:2] != out.shape[2:]:
            raise DataError(f'images of mixed sizes: "{_shown(file, path)}" is '
                            f"{pixels.shape[1]}x{pixels.shape[0]}, \"{_shown(first, path)}\" "
                            f"{out.shape[3]}x{out.shape[2]}", span,
                            hint="give size = [H, W] to resize every image to one size")
        out[i] = pixels.reshape(*pixels.shape[:2], channels).transpose(2, 0, 1)
    return out


def load_labels(path: str, span: Span | None = None, *, base_dir: str | None = None) \
        -> np.ndarray:
    """The class id of every image of the folder, i64[N], in the order `images` reads them."""
    return np.array([k for _, k in listing(path, span, base_dir)], np.int64)


def _size(size, span) -> tuple[int, int] | None:
    if size is None:
        return None
    if (not isinstance(size, (list, tuple)) or len(size) != 2 or
            not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in size)):
        raise DataError(f"images(): size must be [H, W] of two positive integers, not {size}",
                        span)
    return int(size[0]), int(size[1])


def _read(file: str, path: str, mode: str, shape, span) -> np.ndarray:
    """One image's pixels, H x W (x channels), in the mode, resized to shape."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(file) as im:
            im = im.convert(mode)
            if shape is not None and im.size != (shape[1], shape[0]):
                im = im.resize((shape[1], shape[0]), Image.Resampling.BILINEAR)
            return np.asarray(im, np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        raise DataError(f'cannot read image "{_shown(file, path)}": '
                        f"{type(e).__name__ if not str(e) else _short(str(e))}", span) from None


def _shown(file: str, path: str) -> str:
    """The file as the user would write it: under the folder they named."""
    parts = file.replace(os.sep, "/").split("/")
    return "/".join([path.rstrip("/"), *parts[-2:]])


def _short(text: str, width: int = 120) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[:width - 3] + "..."
