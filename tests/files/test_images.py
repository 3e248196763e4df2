"""files/images.py: folder-per-class image datasets read with Pillow, on PNG and JPEG files the
tests write, against the pixels written; and every way such a folder can be wrong."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import tensorlang as tl
from tensorlang.errors import DataError
from tensorlang.files.images import load_images, load_labels


def pixels(seed, h=6, w=5):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def folder(tmp_path, sizes=((6, 5),) * 2, fmt="png"):
    """cats/ with two images, dogs/ with one; returns the pixels in reading order."""
    written = []
    for cls, names in (("cats", ["a", "b"]), ("dogs", ["c"])):
        (tmp_path / "set" / cls).mkdir(parents=True, exist_ok=True)
        for i, name in enumerate(names):
            h, w = sizes[min(i, len(sizes) - 1)]
            px = pixels(len(written), h, w)
            Image.fromarray(px).save(tmp_path / "set" / cls / f"{name}.{fmt}")
            written.append(px)
    return written


def test_png_pixels_and_labels_in_class_order(tmp_path):
    written = folder(tmp_path)
    x = load_images("set", base_dir=str(tmp_path))
    assert x.dtype == np.uint8 and x.shape == (3, 3, 6, 5)
    for got, want in zip(x, written):
        np.testing.assert_array_equal(got, want.transpose(2, 0, 1))  # lossless: exact
    np.testing.assert_array_equal(load_labels("set", base_dir=str(tmp_path)), [0, 0, 1])


def test_jpeg_is_read_and_grey_is_one_channel(tmp_path):
    written = folder(tmp_path, fmt="jpg")
    x = load_images("set", channels=1, base_dir=str(tmp_path))
    assert x.shape == (3, 1, 6, 5)
    with Image.open(tmp_path / "set" / "cats" / "a.jpg") as im:  # Pillow's own decoding
        np.testing.assert_array_equal(x[0, 0], np.asarray(im.convert("L")))
    assert len(written) == 3


def test_size_resizes_every_image(tmp_path):
    folder(tmp_path, sizes=((6, 5), (9, 7)))
    x = load_images("set", size=[4, 3], base_dir=str(tmp_path))
    assert x.shape == (3, 3, 4, 3)
    with Image.open(tmp_path / "set" / "cats" / "b.png") as im:
        want = np.asarray(im.convert("RGB").resize((3, 4), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(x[1], want.transpose(2, 0, 1))


def test_mixed_sizes_without_size_name_both_files(tmp_path):
    folder(tmp_path, sizes=((6, 5), (9, 7)))
    with pytest.raises(DataError, match=r'mixed sizes: "set/cats/b.png" is 7x9, '
                                        r'"set/cats/a.png" 5x6') as e:
        load_images("set", base_dir=str(tmp_path))
    assert "size = [H, W]" in e.value.hint


@pytest.mark.parametrize("make, match", [
    (lambda root: (root / "set").mkdir(), "has no classes"),
    (lambda root: (root / "set" / "x").mkdir(parents=True), "holds no images"),
    (lambda root: ((root / "set" / "x").mkdir(parents=True),
                   (root / "set" / "x" / "notes.txt").write_text("hi")),
     r'"set/x/notes.txt" is no image'),
    (lambda root: ((root / "set" / "x").mkdir(parents=True),
                   (root / "set" / "x" / "bad.png").write_bytes(b"not a png")),
     r'cannot read image "set/x/bad.png"'),
    (lambda root: None, 'image folder "set" not found'),
])
def test_bad_folders_are_data_errors_naming_the_place(tmp_path, make, match):
    make(tmp_path)
    with pytest.raises(DataError, match=match):
        load_images("set", base_dir=str(tmp_path))


def test_bad_arguments():
    with pytest.raises(DataError, match="channels must be 1, 3 or 4"):
        load_images("set", channels=2)
    with pytest.raises(DataError, match=r"size must be \[H, W\]"):
        load_images("set", size=[0, 3])


def test_a_data_block_reads_the_folder(tmp_path):
    folder(tmp_path)
    (tmp_path / "m.tl").write_text(
        'graph g {\n    placeholder x: u8[N, 3, 6, 5]\n    placeholder y: i64[N]\n'
        '    s = mean(cast(x, f32))\n}\n'
        'data d {\n    x = images("set")\n    y = labels("set")\n}\n'
        'evaluate g {\n    data = d\n    report = [s]\n}\n')
    (result,) = tl.load(str(tmp_path / "m.tl")).run(quiet=True)
    want = np.mean([p.astype(np.float64).mean() for p in pixels_of(tmp_path)])
    assert result["s"] == pytest.approx(want, rel=1e-6)


def pixels_of(tmp_path):
    return [np.asarray(Image.open(p)) for p in sorted((tmp_path / "set").glob("*/*.png"))]
