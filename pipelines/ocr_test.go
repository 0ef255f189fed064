package pipelines_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/internal/stagetest"
)

// ocrLines are the texts the OCR test renders: words, digits,
// punctuation, mixed case.
var ocrLines = []string{
	"Battery lasts two days", "Works fine on Linux", "Great value for money", "Model X-200 fails at 3.3V",
	"Order 48213 arrived late", "Screen is bright and sharp", "Setup took five minutes", "Too heavy to carry around",
	"Customer service was quick", "The strap digs into you", "Returned it after a week", "Colours look natural",
	"Price 129.99 USD", "Call 555-0199 today", "Invoice INV-2024-0042", "Left ear cup creaks",
	"Works with USB-C cables", "Ships in 3 to 5 days", "Rated 4 out of 5 stars", "Firmware 2.1.7 fixed it",
	"Do not fit the 2019 model", "Quiet and efficient", "Charging stopped on day 9", "Good sound, weak bass",
	"Warranty covers 24 months", "Box was crushed in transit", "Manual is in English only", "Easy to clean",
	"Fan noise at 40 dB", "Kids use it every day", "Pairs with two phones", "Lid does not close",
	"Weight 1.2 kg", "Made in Portugal", "Arrived on Monday", "Replacement took 48 hours",
	"Volume buttons are stiff", "Best purchase this year", "Size M fits well", "Stopped working in June",
}

// imageMagick returns a real ImageMagick convert command, or fails the
// test saying how to get one (scripts/install-ocr-models.sh installs it).
func imageMagick(t *testing.T) string {
	t.Helper()
	for _, c := range []string{"magick", "/usr/bin/convert", "convert-im6.q16", "convert"} {
		if out, err := exec.Command(c, "-version").Output(); err == nil && strings.Contains(string(out), "ImageMagick") {
			return c
		}
	}
	if os.Getenv("PIPE_TEST_NO_OCR") == "1" {
		t.Skip("SKIPPED: ImageMagick missing and PIPE_TEST_NO_OCR=1")
	}
	t.Fatal("the OCR test renders text with ImageMagick: run scripts/install-ocr-models.sh (make test does), or set PIPE_TEST_NO_OCR=1")
	return ""
}

// needOCRModels returns the folder scripts/install-ocr-models.sh filled.
func needOCRModels(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("PIPE_OCR_MODELS_DIR")
	if _, err := os.Stat(filepath.Join(dir, "rec.onnx")); err == nil && dir != "" {
		return dir
	}
	if os.Getenv("PIPE_TEST_NO_OCR") == "1" {
		t.Skip("SKIPPED: OCR models missing and PIPE_TEST_NO_OCR=1")
	}
	t.Fatal("the OCR models are missing: run `export PIPE_OCR_MODELS_DIR=$(scripts/install-ocr-models.sh)` (make test does), or set PIPE_TEST_NO_OCR=1")
	return ""
}

// TestOCRJob renders text lines with ImageMagick and a DejaVu font (every
// fifth one turned upside down), runs pipelines/ocr.yaml with PaddleOCR's
// real models, and requires the recogniser to read at least 95% of the
// upright lines exactly and the direction classifier to flag every
// upside-down line and no upright one.
func TestOCRJob(t *testing.T) {
	stagetest.NeedORT(t)
	models := needOCRModels(t)
	convert := imageMagick(t)
	in, out := t.TempDir(), t.TempDir()
	for i, text := range ocrLines {
		args := []string{"-background", "white", "-fill", "black", "-font", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
			"-pointsize", "28", "label:" + text, "-bordercolor", "white", "-border", "3x3"}
		if i%5 == 4 {
			args = append(args, "-rotate", "180")
		}
		args = append(args, filepath.Join(in, fmt.Sprintf("line%02d.png", i)))
		if out, err := exec.Command(convert, args...).CombinedOutput(); err != nil {
			t.Fatalf("rendering %q: %v: %s", text, err, out)
		}
	}
	runJob(t, "ocr.yaml", map[string]string{"PIPE_OCR_MODELS_DIR": models, "IN": in, "OUT": out})
	cols := readDir(t, out)
	paths, texts, angles := texts(cols["path"]), texts(cols["text"]), texts(cols["angle"])
	if len(paths) != len(ocrLines) || len(texts) != len(ocrLines) || len(angles) != len(ocrLines) {
		t.Fatalf("%d paths, %d texts, %d angles for %d lines", len(paths), len(texts), len(angles), len(ocrLines))
	}
	read, upright := 0, 0
	for i, want := range ocrLines {
		if !strings.HasSuffix(paths[i], fmt.Sprintf("line%02d.png", i)) {
			t.Fatalf("row %d is %s: order lost", i, paths[i])
		}
		flipped := i%5 == 4
		if wantAngle := map[bool]string{true: "180", false: "0"}[flipped]; angles[i] != wantAngle {
			t.Errorf("line %d %q (upside down %v): angle %s", i, want, flipped, angles[i])
		}
		if flipped {
			continue
		}
		upright++
		if texts[i] == want {
			read++
		} else {
			t.Logf("line %d: read %q, rendered %q", i, texts[i], want)
		}
	}
	if float64(read) < 0.95*float64(upright) {
		t.Errorf("read %d of %d upright lines exactly, want at least 95%%", read, upright)
	}
}

// imageInput copies one test image into dir, as the input folder of a job
// that reads images, and returns dir.
func imageInput(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "stages", "image", "testdata", "grey.png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "line.png"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
