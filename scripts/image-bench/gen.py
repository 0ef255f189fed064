#!/usr/bin/env python3
"""gen.py writes the input of `scripts/bench.sh image`: COUNT photo-like JPEGs.

    /usr/bin/python3 scripts/image-bench/gen.py DIR COUNT

Files are img00000.jpg, img00001.jpg, ...; image i depends on i only and an
existing file is kept, so a folder of 2N images can start from hard links to
the N-image folder. Sizes run from 640x480 to 1920x1080 (a fifth portrait),
every fourth image is progressive, every tenth carries an EXIF orientation
(2 to 8) that the readers must apply. Pillow (Debian python3-pil) writes
both progressive JPEG and EXIF itself; Go's image/jpeg writes neither, and
this machine's `convert` on PATH is a stand-in, not ImageMagick.
"""
import multiprocessing
import os
import sys

import numpy as np
from PIL import Image

SIZES = [(640, 480), (800, 600), (1024, 768), (1280, 720), (1280, 960), (1600, 900), (1920, 1080)]


def scene(w, h, rng):
    """Gradients, a few discs and bars, and sensor-like noise, so that JPEG
    sizes (about 0.2 to 0.6 MB) are those of photos, not of flat colour."""
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    a, b = rng.uniform(0.3, 1.0, 2)
    img = np.empty((h, w, 3), np.float32)
    img[..., 0] = 40 + 180 * (a * x + (1 - a) * y)
    img[..., 1] = 60 + 120 * (1 - y) * b + 40 * np.sin(x * rng.uniform(5, 30))
    img[..., 2] = 90 + 100 * np.cos(y * rng.uniform(3, 20)) * x
    yy, xx = np.ogrid[0:h, 0:w]
    for _ in range(int(rng.integers(3, 8))):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.05, 0.3) * min(w, h)
        img[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = rng.uniform(0, 255, 3)
    for _ in range(int(rng.integers(2, 6))):
        x0, y0 = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        img[y0:y0 + int(rng.integers(10, h // 3)), x0:x0 + int(rng.integers(10, w // 3))] = rng.uniform(0, 255, 3)
    img += rng.normal(0, 6, (h, w, 3)).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def write(path, i):
    rng = np.random.default_rng(i)
    w, h = SIZES[i % len(SIZES)]
    if i % 5 == 2:
        w, h = h, w
    im = Image.fromarray(scene(w, h, rng))
    kw = {"quality": int(rng.integers(80, 93)), "subsampling": 2, "progressive": i % 4 == 1}
    if i % 10 == 3:
        exif = Image.Exif()
        exif[0x0112] = 2 + (i // 10) % 7  # Orientation
        kw["exif"] = exif.tobytes()
    tmp = path + ".tmp"
    im.save(tmp, "JPEG", **kw)
    os.replace(tmp, path)  # a killed run leaves no truncated image


def main():
    out, count = sys.argv[1], int(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    todo = [(os.path.join(out, "img%05d.jpg" % i), i) for i in range(count)]
    todo = [t for t in todo if not os.path.exists(t[0])]
    with multiprocessing.Pool() as pool:
        pool.starmap(write, todo, chunksize=8)


if __name__ == "__main__":
    main()
