#!/usr/bin/env python3
"""gen.py renders the test images of stages/image and the reference tensors
the Go tests compare the `image` transform with.

    apt-get install -y python3-pil python3-numpy
    /usr/bin/python3 scripts/image-ref/gen.py [stages/image/testdata]

The images are written with Pillow (one per format and mode the transform
decodes); each reference is what torchvision's PIL pipeline makes of it:
ImageOps.exif_transpose, alpha composited on white (the transform's rule,
done here in integers: out = (c*a + bg*(255-a) + 127) // 255), convert("RGB"),
Image.resize(..., resample, reducing_gap=None), center crop (torchvision's
rounding), ToTensor (v / 255 in float32) and Normalize(mean, std). The
tensors are raw little-endian float32 (CHW), listed in index.json with the
`with:` block that asks the Go stage for the same thing.

The tests never run Python; rerun this only to change the cases, and commit
its output.
"""
import io
import json
import math
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image, ImageOps

OUT = sys.argv[1] if len(sys.argv) > 1 else "stages/image/testdata"
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
FILTERS = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}


def photo(w, h, seed=1):
    """A photo-like RGB array: gradients, a disc, stripes and mild noise."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255 * x / (w - 1)
    g = 255 * y / (h - 1)
    b = 128 + 100 * np.sin(x / 3.0) * np.cos(y / 5.0)
    disc = (x - w * 0.6) ** 2 + (y - h * 0.4) ** 2 < (min(w, h) * 0.25) ** 2
    r[disc], g[disc], b[disc] = 230, 40, 60
    stripes = (x < w * 0.3) & ((x.astype(int) // 2) % 2 == 0)
    g[stripes] = 20
    rng = np.random.default_rng(seed)
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, 4, (h, w, 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def alpha_mask(w, h):
    y, x = np.mgrid[0:h, 0:w]
    a = (255 * x / (w - 1)).astype(np.uint8)
    a[(y // 8) % 2 == 0] = 255
    a[:, :4] = 0
    return a


def png16(path, arr16, alpha=None):
    """Writes a 16-bit RGB(A) PNG (Pillow cannot save one)."""
    h, w, _ = arr16.shape
    if alpha is not None:
        arr16 = np.concatenate([arr16, alpha[..., None]], axis=-1)
    ctype = 6 if alpha is not None else 2
    raw = b"".join(b"\x00" + arr16[i].astype(">u2").tobytes() for i in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, ctype, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


def exif_jpeg(path, img, orientation):
    ex = Image.Exif()
    ex[0x0112] = orientation
    img.save(path, quality=92, subsampling=0, exif=ex.tobytes())


def images():
    """Writes the test images; returns {file name: decoder class}."""
    base = photo(120, 90)
    im = Image.fromarray(base)
    rgba = np.concatenate([base, alpha_mask(120, 90)[..., None]], axis=-1)
    made = {}

    def save(name, cls, fn):
        fn(os.path.join(OUT, name))
        made[name] = cls
    save("baseline.jpg", "jpeg444", lambda p: im.save(p, quality=92, subsampling=0))
    save("sub420.jpg", "jpeg420", lambda p: im.save(p, quality=92, subsampling=2))
    save("progressive.jpg", "jpeg444", lambda p: im.save(p, quality=92, subsampling=0, progressive=True))
    save("grey.jpg", "jpeg444", lambda p: im.convert("L").save(p, quality=92))
    save("cmyk.jpg", "jpegcmyk", lambda p: im.convert("CMYK").save(p, quality=92))
    small = Image.fromarray(photo(48, 30, seed=2))
    for o in range(2, 9):
        save("exif%d.jpg" % o, "jpeg444", lambda p, o=o: exif_jpeg(p, small, o))
    save("rgb.png", "exact", lambda p: im.save(p))
    save("grey.png", "exact", lambda p: im.convert("L").save(p))
    save("rgba.png", "exact", lambda p: Image.fromarray(rgba, "RGBA").save(p))
    save("la.png", "exact", lambda p: Image.fromarray(rgba, "RGBA").convert("LA").save(p))
    pal = im.quantize(64)
    pal.info["transparency"] = 0
    save("palette.png", "exact", lambda p: pal.save(p, transparency=0))
    big = base.astype(np.uint16) * 257 + 91  # low bytes that must be dropped
    save("rgb16.png", "exact", lambda p: png16(p, big))
    save("rgba16.png", "exact", lambda p: png16(p, big, alpha_mask(120, 90).astype(np.uint16) * 257))
    save("anim.gif", "exact", lambda p: pal.save(p, save_all=True, append_images=[im.quantize(16)], transparency=0))
    save("rgb.bmp", "exact", lambda p: im.save(p))
    save("lossless.webp", "exact", lambda p: im.save(p, lossless=True))
    save("lossy.webp", "webplossy", lambda p: im.save(p, quality=90))
    return made


def to_rgb(path):
    im = ImageOps.exif_transpose(Image.open(path))
    if im.mode in ("RGBA", "LA", "P", "PA", "RGBa", "La") or "transparency" in im.info:
        a = np.asarray(im.convert("RGBA")).astype(np.int32)
        c, al = a[..., :3], a[..., 3:]
        out = (c * al + 255 * (255 - al) + 127) // 255
        return Image.fromarray(out.astype(np.uint8), "RGB")
    return im.convert("RGB")


def tensor(img, mean, std):
    x = np.asarray(img).astype(np.float32) / np.float32(255)
    x = x.transpose(2, 0, 1)
    if mean:
        m = np.asarray(mean, np.float32)[:, None, None]
        s = np.asarray(std, np.float32)[:, None, None]
        x = (x - m) / s
    return np.ascontiguousarray(x, dtype="<f4")


def shorter_side(img, size, crop, f):
    w, h = img.size
    if w <= h:
        nw, nh = size, int(size * h / w)
    else:
        nw, nh = int(size * w / h), size
    img = img.resize((nw, nh), FILTERS[f], reducing_gap=None)
    top, left = int(round((nh - crop) / 2.0)), int(round((nw - crop) / 2.0))
    return img.crop((left, top, left + crop, top + crop))


def letterbox(img, W, H, pad, f):
    w, h = img.size
    r = min(W / w, H / h)
    nw, nh = int(round(w * r)), int(round(h * r))
    canvas = Image.new("RGB", (W, H), (pad, pad, pad))
    canvas.paste(img.resize((nw, nh), FILTERS[f], reducing_gap=None), ((W - nw) // 2, (H - nh) // 2))
    return canvas, r, (W - nw) // 2, (H - nh) // 2


def fixed_height(img, H, maxw, pad, f):
    w, h = img.size
    nw = min(maxw, int(math.ceil(H * (w / float(h)))))
    canvas = Image.new("RGB", (maxw, H), (pad, pad, pad))
    canvas.paste(img.resize((nw, H), FILTERS[f], reducing_gap=None), (0, 0))
    return canvas


def cases(made):
    out = []
    norm = "mean: [0.485, 0.456, 0.406]\nstd: [0.229, 0.224, 0.225]\n"

    def add(name, image, with_, arr, extra=None):
        fn = "ref_%s.f32" % name
        arr.tofile(os.path.join(OUT, fn))
        c = {"name": name, "image": image, "class": made[image], "with": with_,
             "shape": list(arr.shape), "tensor": fn}
        c.update(extra or {})
        out.append(c)
    for image in sorted(made):
        rgb = to_rgb(os.path.join(OUT, image))
        modes = ["bilinear"] if made[image] != "exact" or image != "rgb.png" else list(FILTERS)
        for f in modes:
            w = "resize: {mode: shorter_side, size: 30, crop: 24}\ninterpolation: %s\n%s" % (f, norm)
            add("%s_%s" % (image.replace(".", "_"), f), image, w, tensor(shorter_side(rgb, 30, 24, f), MEAN, STD),
                {"width": rgb.size[0], "height": rgb.size[1]})
    rgb = to_rgb(os.path.join(OUT, "rgb.png"))
    for f in FILTERS:  # upscaling and odd ratios, no normalisation
        w = "resize: {mode: exact, width: 37, height: 150}\ninterpolation: %s\n" % f
        add("rgb_png_exact_%s" % f, "rgb.png", w, tensor(rgb.resize((37, 150), FILTERS[f], reducing_gap=None), None, None))
    for image in ("lossy.webp", "sub420.jpg"):  # decoder alone: a 90x90 window at scale 1
        w = "resize: {mode: shorter_side, size: 90, crop: 90}\ninterpolation: nearest\n"
        add(image.replace(".", "_") + "_pixels", image, w, tensor(shorter_side(to_rgb(os.path.join(OUT, image)), 90, 90, "nearest"), None, None))
    lb, r, px, py = letterbox(rgb, 40, 40, 114, "bilinear")
    add("rgb_png_letterbox", "rgb.png", "resize: {mode: letterbox, width: 40, height: 40, pad_value: 114}\n",
        tensor(lb, None, None), {"scale": r, "pad_x": px, "pad_y": py})
    fh = fixed_height(to_rgb(os.path.join(OUT, "exif6.jpg")), 16, 40, 0, "bilinear")
    made.setdefault("exif6.jpg", "jpeg444")
    add("exif6_fixed_height", "exif6.jpg", "resize: {mode: fixed_height, height: 16, max_width: 40}\n", tensor(fh, None, None))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.startswith("ref_"):
            os.remove(os.path.join(OUT, f))
    made = images()
    index = {"pillow": Image.__version__, "numpy": np.__version__, "cases": cases(made)}
    with open(os.path.join(OUT, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
