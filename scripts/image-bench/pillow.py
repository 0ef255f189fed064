#!/usr/bin/env python3
"""pillow.py is the Pillow baseline of `scripts/bench.sh image`: every .jpg in
DIR through torchvision's PIL preprocessing (open, convert RGB, resize shorter
side 256 bilinear, centre crop 224, float32 ImageNet normalisation), as
scripts/image-ref/bench.py's one() does it, in PROCS processes.

    /usr/bin/python3 scripts/image-bench/pillow.py DIR [--procs 2] [--draft]

--draft lets libjpeg shrink while decoding (JPEG draft mode). Like
torchvision's loader, it does not apply EXIF orientation (pipe and sharp do:
a tenth of the files, a transpose each).
"""
import argparse
import multiprocessing
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "image-ref"))
from bench import one  # noqa: E402
from PIL import Image  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--draft", action="store_true")
    a = ap.parse_args()
    paths = sorted(os.path.join(a.dir, f) for f in os.listdir(a.dir) if f.lower().endswith(".jpg"))
    t = time.perf_counter()
    with multiprocessing.Pool(a.procs) as pool:
        pool.map(one, [(p, a.draft) for p in paths], chunksize=4)
    dt = time.perf_counter() - t
    print("pillow %s, %d processes%s: %d images, %.1f images/s" % (
        Image.__version__, a.procs, ", draft" if a.draft else "", len(paths), len(paths) / dt))


if __name__ == "__main__":
    main()
