#!/usr/bin/env python3
"""bench.py measures Pillow on the `image` transform's benchmark workload, so
that BenchmarkImage224 can be compared on the same files and machine.

    /usr/bin/python3 scripts/image-ref/bench.py /tmp/imgbench [--procs N] [--draft]
    PIPE_IMAGE_BENCH_DIR=/tmp/imgbench go test ./stages/image -run '^$' -bench Image224 -benchtime 3x

It writes 200 photo-like 1280x960 JPEGs (quality 90, 4:2:0) into the folder
(once), then times torchvision's PIL pipeline on them in N processes (default:
one per CPU): open, convert("RGB"), resize shorter side 256 (BILINEAR,
reducing_gap=None), centre crop 224, ToTensor and ImageNet Normalize in
float32 numpy. --draft lets libjpeg shrink while decoding (JPEG draft mode),
which Go's image/jpeg cannot do.
"""
import argparse
import multiprocessing
import os
import sys
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen import photo  # noqa: E402

MEAN = np.asarray([0.485, 0.456, 0.406], np.float32)[:, None, None]
STD = np.asarray([0.229, 0.224, 0.225], np.float32)[:, None, None]


def one(args):
    path, draft = args
    t = time.process_time()
    im = Image.open(path)
    if draft:
        im.draft("RGB", (256, 256))
    im = im.convert("RGB")
    w, h = im.size
    nw, nh = (256, int(256 * h / w)) if w <= h else (int(256 * w / h), 256)
    im = im.resize((nw, nh), Image.BILINEAR, reducing_gap=None)
    top, left = int(round((nh - 224) / 2.0)), int(round((nw - 224) / 2.0))
    im = im.crop((left, top, left + 224, top + 224))
    x = np.asarray(im).astype(np.float32).transpose(2, 0, 1) / np.float32(255)
    ((x - MEAN) / STD).sum()
    return time.process_time() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--procs", type=int, default=os.cpu_count())
    ap.add_argument("--draft", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    paths = [os.path.join(a.dir, "img%03d.jpg" % i) for i in range(200)]
    for i, p in enumerate(paths):
        if not os.path.exists(p):
            Image.fromarray(photo(1280, 960, seed=i)).save(p, quality=90)
    with multiprocessing.Pool(a.procs) as pool:
        pool.map(one, [(paths[0], a.draft)] * a.procs)  # warm up
        t = time.perf_counter()
        cpu = sum(pool.map(one, [(p, a.draft) for p in paths], chunksize=4))
        dt = time.perf_counter() - t
    print("pillow %s, %d processes%s: %.1f images/s, %.2f cpu-ms/image" % (
        Image.__version__, a.procs, ", draft" if a.draft else "", len(paths) / dt, 1000 * cpu / len(paths)))


if __name__ == "__main__":
    main()
