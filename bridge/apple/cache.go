package apple

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// cacheVersion changes when the layout or meaning of cache entries does, so
// that old entries are never reused.
const cacheVersion = "pipe-coreml-cache-v1"

// CacheKeyLen is the length of a cache key: hex, so alphanumeric, and short
// enough (at most 64) to double as ONNX Runtime's COREML_CACHE_KEY.
const CacheKeyLen = 48

// CacheEnv is what besides the model decides whether a compiled model can be
// reused: Core ML recompiles for the Neural Engine after OS updates, and
// ONNX Runtime converts differently between versions.
type CacheEnv struct {
	OSBuild    string // kern.osversion, e.g. "23E224"
	ORTVersion string // ONNX Runtime version for the CoreML provider; "" for native Core ML
	Chip       string // machdep.cpu.brand_string, e.g. "Apple M2 Pro"
	// Options are other settings that change the compiled result (the
	// CoreML provider's options), as key=value strings in any order.
	Options []string
}

// CacheKey returns a stable key for a model and the conditions it is
// compiled under: a hex SHA-256 over the model's content (the file, or every
// file of a .mlpackage/.mlmodelc folder with its relative path), the compute
// units and env, truncated to [CacheKeyLen] characters. The key changes
// whenever any byte of the model changes, which the ONNX Runtime provider's
// own path-keyed cache does not notice.
func CacheKey(modelPath string, units ComputeUnits, env CacheEnv) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", cacheVersion)
	if err := hashModel(h, modelPath); err != nil {
		return "", err
	}
	opts := append([]string(nil), env.Options...)
	slices.Sort(opts)
	fmt.Fprintf(h, "units=%s\nos=%s\nort=%s\nchip=%s\nopts=%s\n", units, env.OSBuild, env.ORTVersion, env.Chip, strings.Join(opts, ","))
	return hex.EncodeToString(h.Sum(nil))[:CacheKeyLen], nil
}

// hashModel writes the content of a model file or folder into h. Folder
// entries are visited in lexical order, each contributing its slash-separated
// relative path, its kind and its bytes, so renaming a file inside a package
// changes the key but moving the whole package does not.
func hashModel(h hash.Hash, path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("model cache key: %w", err)
	}
	if !st.IsDir() {
		fmt.Fprintf(h, "file %d\n", st.Size())
		return hashFile(h, path)
	}
	return filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("model cache key: %w", err)
		}
		rel, err := filepath.Rel(path, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			fmt.Fprintf(h, "dir %s\n", rel)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return fmt.Errorf("model cache key: %w", err)
			}
			fmt.Fprintf(h, "link %s -> %s\n", rel, target)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return fmt.Errorf("model cache key: %w", err)
			}
			fmt.Fprintf(h, "file %s %d\n", rel, info.Size())
			return hashFile(h, p)
		default:
			return fmt.Errorf("model cache key: %s: unexpected file type %s", p, d.Type())
		}
		return nil
	})
}

func hashFile(h io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("model cache key: %w", err)
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("model cache key: %s: %w", path, err)
	}
	return nil
}

// ErrNoCacheDir is returned when neither XDG_CACHE_HOME nor a home folder
// is known.
var ErrNoCacheDir = errors.New("no cache folder: set XDG_CACHE_HOME or HOME")

// CacheRoot returns ${XDG_CACHE_HOME:-~/.cache}/pipe/coreml. A relative
// XDG_CACHE_HOME is ignored, as the XDG specification asks.
func CacheRoot() (string, error) {
	return cacheRoot(os.Getenv, os.UserHomeDir)
}

func cacheRoot(getenv func(string) string, home func() (string, error)) (string, error) {
	if x := getenv("XDG_CACHE_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "pipe", "coreml"), nil
	}
	h, err := home()
	if err != nil || h == "" {
		return "", ErrNoCacheDir
	}
	return filepath.Join(h, ".cache", "pipe", "coreml"), nil
}

// CacheDir returns the cache folder of a key: CacheRoot()/<key>. The folder
// is stable across runs, which Core ML's on-device Neural Engine compile
// cache relies on; it is not created here.
func CacheDir(key string) (string, error) {
	if len(key) != CacheKeyLen || strings.Trim(key, "0123456789abcdef") != "" {
		return "", fmt.Errorf("invalid cache key %q", key)
	}
	root, err := CacheRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, key), nil
}

// CompiledModelPath returns where the compiled form of model lives inside a
// cache folder: <dir>/<model name without extension>.mlmodelc.
func CompiledModelPath(dir, model string) string {
	base := filepath.Base(model)
	return filepath.Join(dir, strings.TrimSuffix(base, filepath.Ext(base))+".mlmodelc")
}
