package apple

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pipe-ml/pipe/bridge"
)

// EPName is the execution provider name passed to ONNX Runtime's
// SessionOptionsAppendExecutionProvider.
const EPName = "CoreML"

// epKey describes one CoreML provider option of ONNX Runtime's string-keyed
// API (onnxruntime/core/providers/coreml/coreml_options.cc).
type epKey struct {
	name   string
	values []string // accepted values; nil: any non-empty string
	since  [2]int   // first ONNX Runtime version (major, minor) that knows it
}

// epKeys lists the provider options. ONNX Runtime rejects unknown keys at
// session creation ("Unknown option"), so they are checked here first.
// Versions: the first four came with the string API in 1.20; the others in
// 1.21 [verify on the first Mac run].
var epKeys = []epKey{
	{"MLComputeUnits", []string{"CPUAndNeuralEngine", "CPUAndGPU", "CPUOnly", "ALL"}, [2]int{1, 20}},
	{"ModelFormat", []string{"MLProgram", "NeuralNetwork"}, [2]int{1, 20}},
	{"RequireStaticInputShapes", []string{"0", "1"}, [2]int{1, 20}},
	{"EnableOnSubgraphs", []string{"0", "1"}, [2]int{1, 20}},
	{"SpecializationStrategy", []string{"Default", "FastPrediction"}, [2]int{1, 21}},
	{"ProfileComputePlan", []string{"0", "1"}, [2]int{1, 21}},
	{"AllowLowPrecisionAccumulationOnGPU", []string{"0", "1"}, [2]int{1, 21}},
	{"ModelCacheDirectory", nil, [2]int{1, 21}},
}

// EPConfig is the CoreML provider setup of one session.
type EPConfig struct {
	Units ComputeUnits
	// CacheDir is the folder for the converted and compiled Core ML model,
	// normally [CacheDir] of the model's [CacheKey]: keyed by content, so a
	// changed model never meets a stale conversion. Empty: no cache.
	CacheDir string
	// StaticShapes sets RequireStaticInputShapes=1: the provider takes only
	// nodes with static input shapes (dynamic shapes fail at prediction time
	// on the ANE and GPU).
	StaticShapes bool
	// FastPrediction sets SpecializationStrategy=FastPrediction.
	FastPrediction bool
	// ProfilePlan sets ProfileComputePlan=1 (logs Core ML's per-op devices).
	ProfilePlan bool
	// ORTVersion is the runtime's version ("1.30.0"); keys it does not know
	// are left out. Empty: assume the pinned version knows every key.
	ORTVersion string
	// Overrides are a job's own provider options, keys without the "ep."
	// prefix; they win over the settings above.
	Overrides map[string]string
}

// EPOptions returns the options.Extra map that asks the ONNX Runtime backend
// for the CoreML execution provider: "ep" = "CoreML" and one "ep.<Key>" per
// provider option. ModelFormat is always MLProgram (the provider's default,
// NeuralNetwork, lacks fp16 and newer ops). Unknown keys, bad values and
// keys the runtime version does not know are errors wrapping
// [bridge.ErrUnsupported], naming the key.
func EPOptions(c EPConfig) (map[string]string, error) {
	ver, err := parseVersion(c.ORTVersion)
	if err != nil {
		return nil, err
	}
	if c.ORTVersion != "" && less(ver, [2]int{1, 20}) {
		return nil, epErr("ONNX Runtime %s has no string-keyed CoreML options (need 1.20 or later)", c.ORTVersion)
	}
	opts := map[string]string{
		"MLComputeUnits":           c.Units.String(),
		"ModelFormat":              "MLProgram",
		"RequireStaticInputShapes": boolOpt(c.StaticShapes),
	}
	if c.CacheDir != "" {
		opts["ModelCacheDirectory"] = c.CacheDir
	}
	if c.FastPrediction {
		opts["SpecializationStrategy"] = "FastPrediction"
	}
	if c.ProfilePlan {
		opts["ProfileComputePlan"] = "1"
	}
	for k, v := range c.Overrides {
		opts[k] = v
	}
	out := map[string]string{"ep": EPName}
	for k, v := range opts {
		i := slices.IndexFunc(epKeys, func(e epKey) bool { return e.name == k })
		if i < 0 {
			return nil, epErr("unknown CoreML provider option %q (known: %s)", k, knownEPKeys())
		}
		key := epKeys[i]
		if key.values != nil && !slices.Contains(key.values, v) {
			return nil, epErr("CoreML provider option %s=%q: want one of %s", k, v, strings.Join(key.values, ", "))
		}
		if key.values == nil && v == "" {
			return nil, epErr("CoreML provider option %s is empty", k)
		}
		if c.ORTVersion != "" && less(ver, key.since) {
			if _, asked := c.Overrides[k]; asked {
				return nil, epErr("CoreML provider option %s needs ONNX Runtime %d.%d, have %s", k, key.since[0], key.since[1], c.ORTVersion)
			}
			continue
		}
		out["ep."+k] = v
	}
	return out, nil
}

// DimOverrideOptions returns Extra entries "dim.<name>" = "<size>" that pin
// symbolic dimensions of an ONNX model (ONNX Runtime's
// AddFreeDimensionOverrideByName), from [ShapePlan.DimOverrides]; the ONNX
// Runtime backend (bridge/ort) applies them when it creates the session.
func DimOverrideOptions(dims map[string]int64) map[string]string {
	out := make(map[string]string, len(dims))
	for k, v := range dims {
		out["dim."+k] = strconv.FormatInt(v, 10)
	}
	return out
}

func knownEPKeys() string {
	names := make([]string, len(epKeys))
	for i, k := range epKeys {
		names[i] = k.name
	}
	return strings.Join(names, ", ")
}

func epErr(format string, args ...any) error {
	return &bridge.Error{Backend: "coreml-ep", Op: "configure", Class: bridge.ClassUnsupported, Msg: fmt.Sprintf(format, args...)}
}

func boolOpt(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// parseVersion reads "major.minor[.patch]"; "" gives the zero version.
func parseVersion(s string) ([2]int, error) {
	if s == "" {
		return [2]int{}, nil
	}
	parts := strings.SplitN(strings.TrimPrefix(s, "v"), ".", 3)
	if len(parts) < 2 {
		return [2]int{}, fmt.Errorf("onnx runtime version %q: want major.minor[.patch]", s)
	}
	var v [2]int
	for i := range 2 {
		n, err := strconv.Atoi(parts[i])
		if err != nil || n < 0 {
			return [2]int{}, fmt.Errorf("onnx runtime version %q: want major.minor[.patch]", s)
		}
		v[i] = n
	}
	return v, nil
}

func less(a, b [2]int) bool { return a[0] < b[0] || (a[0] == b[0] && a[1] < b[1]) }
