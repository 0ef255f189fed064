// Package image provides the `image` transform: a column of encoded images
// (binary, or the Hugging Face datasets struct<bytes, path>) becomes the
// pixel tensor a vision model takes, as torchvision's PIL transforms make
// it (Resize, CenterCrop, ToTensor, Normalize), plus each image's size.
// A struct row whose bytes are null is read from the file its path names
// (files.go), relative to the job's folder, up to max_file_bytes.
//
// # Output columns
//
// After the input's columns: `into`, then width and height (the decoded
// size), then per resize mode scale, pad_x and pad_y (letterbox) or
// valid_width (fixed_height: the unpadded width after resizing). All but
// `into` take the `prefix` setting, so two image stages can be chained; a
// name already in the input is refused when the stage is built.
//
// # Pipeline of one row
//
//  1. image.DecodeConfig reads the header; more than max_pixels declared is
//     [ErrTooLarge] before any pixel buffer exists (a decompression bomb
//     never allocates).
//  2. A JPEG goes to libvips when the decoder is libvips (decode_vips.go),
//     shrunk on load unless shrink_on_load is false; everything else, and
//     every JPEG with decoder go, goes to the pure-Go decoders (image/jpeg,
//     image/png, image/gif first frame, x/image/bmp, x/image/webp), which
//     run under recover.
//  3. Conversion to packed 8-bit RGB: grey is replicated, CMYK uses
//     Pillow's cmyk2rgb, 16-bit samples keep their high byte (as Pillow
//     reads 16-bit PNGs), and a pixel with alpha a is composited on the
//     background colour, at full resolution and before resizing:
//     c' = (c*a + bg*(255-a) + 127) / 255. A JPEG's EXIF orientation (APP1
//     tag 0x0112, parsed in exif.go) is then applied.
//  4. Resizing (resize.go) repeats Pillow's Resample.c: the same kernels,
//     support scaled by the shrink factor (antialiasing), coefficients
//     normalised and rounded to 22-bit fixed point, horizontal pass to an
//     8-bit intermediate then vertical pass; nearest is Pillow's affine
//     scale. Only the window kept after a centre crop is computed.
//  5. Each pixel maps through a 256-entry table per channel to
//     (v*scale - mean) / std in float32, or stays a byte (dtype uint8).
//
// # Agreement with Pillow
//
// testdata holds images and reference tensors made by
// scripts/image-ref/gen.py with Pillow 9.4 (Debian python3-pil). For PNG,
// BMP, GIF and WebP (lossless and lossy) the output is Pillow's to float32
// rounding, in every interpolation and mode. For lossy WebP and JPEG that
// takes repeating what the C libraries do after entropy decoding
// (chroma.go): libwebp's fancy upsampling and BT.601 limited-range
// conversion (Go's image.YCbCr assumes JFIF full range: colours would be
// off by several levels), and libjpeg's fancy chroma upsampling and
// conversion tables (Go replicates chroma). JPEG still differs by Go's
// IDCT, which rounds differently from libjpeg's islow IDCT: a few pixels 1
// to 3 levels apart, within 0.036 (two levels after ImageNet
// normalisation) once resized. With libvips and shrink_on_load false,
// JPEG is Pillow's to float32 rounding too.
//
// # Decoders
//
// `decoder: auto` (the default) decodes JPEGs with libvips (package
// bridge/vips, loaded at run time; scripts/install-vips.sh) when it loads,
// and otherwise in Go, logging why once per process; `vips` makes a
// missing library a build error; `go` never loads it. Only JPEG goes to
// libvips: it is where the pure-Go decoder is slow (no SIMD IDCT) and
// where DCT scaling saves work. PNG, GIF, BMP and WebP stay in Go, whose
// output is already Pillow's exactly, so the grey, palette, alpha and
// 16-bit rules above hold on both paths. libvips' JPEG pixels (grey and
// CMYK included, converted by the same rules; EXIF orientation applied
// by exif.go's reader) equal Pillow's on every reference image
// (reference_test.go), closer than Go's IDCT gets.
//
// Resizing stays resize.go's on both paths: measured on the benchmark's
// photos, decoding is most of libvips' time, and the exact Pillow kernels
// cost a few milliseconds per image once the JPEG is shrunk on load.
//
// Shrink-on-load (`shrink_on_load: true`, the default with libvips)
// decodes a JPEG at 1/2, 1/4 or 1/8 scale in the DCT domain, the largest
// that leaves it at least its resized size (Pillow's draft(), sharp's
// shrink-on-load), then resizes that exactly. A 1920x1080 photo resized
// to shorter side 256 is decoded at 480x270, a quarter of the work; the
// width and height columns still report the full size. The result is not
// Pillow's full-size decode + antialiased resize (the 1/4-scale decode
// has already averaged 4x4 blocks, and what remains of the resize sees
// fewer taps): on 40 of the benchmark's photos, 68% of the values are
// Pillow's, 29% one level off, the mean difference 0.007 and the largest
// 0.51 (29 levels, at sharp edges) after ImageNet normalisation; on the
// tiny reference images, shrunk 2x to 8x, up to 0.23 and 0.016 on
// average. Pillow's own draft mode differs from its full decode likewise.
// Set shrink_on_load to false for Pillow parity.
//
// # Ownership
//
// Process borrows its input batch for the call and returns a new batch
// owned by the caller; the input's columns are shared with it (retained).
// The output columns are allocated from Env.Mem once per batch and written
// in place.
//
// # Concurrency
//
// The runtime calls Process from one goroutine at a time. Process decodes
// at most `threads` images at once, one per goroutine it starts, each
// taking the next row when it finishes one; it waits for all of them
// before returning.
//
// # Errors
//
// A bad config or a column that is neither binary nor struct<bytes: binary>
// is reported by the constructor. A null, empty, unknown, corrupt,
// truncated or too large image, or a path-only row whose file is missing
// ([ErrNoFile]) or over max_file_bytes ([ErrFileTooLarge]), is a
// [*RowError] naming the column, the row (numbered from the stage's first
// input row) and the path when the struct layout has one, so that on_error
// skip and dead_letter can set the row aside. A batch with several bad rows reports the lowest.
package image
