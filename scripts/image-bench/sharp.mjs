// sharp.mjs is the sharp baseline of `scripts/bench.sh image`: every .jpg
// in DIR decoded, EXIF-oriented, resized to shorter side 256 (as
// torchvision computes the longer side), centre-cropped to 224 and read back
// as raw RGB bytes, with up to INFLIGHT images in flight and libvips using
// one thread per core. sharp shrinks JPEGs while decoding (libjpeg DCT
// scaling), which pipe's pure-Go decoder cannot do.
//
//   node scripts/image-bench/sharp.mjs DIR [INFLIGHT]   (default 4)
import { readdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import sharp from "sharp";

const [dir, inflightArg] = process.argv.slice(2);
const inflight = Number(inflightArg ?? 4);
sharp.concurrency(availableParallelism());
sharp.cache(false); // each file is read once: caching only costs memory
const files = readdirSync(dir).filter((f) => f.toLowerCase().endsWith(".jpg")).sort().map((f) => join(dir, f));

async function one(path) {
  // The header gives the oriented size, so the resize and crop are those of
  // torchvision's Resize(256) + CenterCrop(224), not sharp's own cover fit.
  const meta = await sharp(path).metadata();
  const { width: w, height: h } = meta.autoOrient ?? meta;
  const [nw, nh] = w <= h ? [256, Math.trunc((256 * h) / w)] : [Math.trunc((256 * w) / h), 256];
  const left = Math.round((nw - 224) / 2), top = Math.round((nh - 224) / 2);
  const { data, info } = await sharp(path)
    .autoOrient()
    .resize({ width: nw, height: nh, fit: "fill", kernel: "linear" })
    .extract({ left, top, width: 224, height: 224 })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (data.length !== 224 * 224 * info.channels) throw new Error(`${path}: ${info.width}x${info.height}x${info.channels}`);
}

const start = performance.now();
let next = 0;
async function worker() {
  while (next < files.length) await one(files[next++]);
}
await Promise.all(Array.from({ length: inflight }, worker));
const s = (performance.now() - start) / 1000;
console.log(`sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}), ${inflight} in flight: ${files.length} images, ${(files.length / s).toFixed(1)} images/s`);
