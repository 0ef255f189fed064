package serve

import (
	"github.com/pipe-ml/pipe/observe/tracing"

	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler returns the REST endpoints of the protocol and /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/health/live", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"live": true})
	})
	mux.HandleFunc("GET /v2/health/ready", func(w http.ResponseWriter, _ *http.Request) {
		ready := s.serverReady()
		writeJSON(w, readyStatus(ready), map[string]bool{"ready": ready})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{}))
	mux.Handle("GET /v2", s.auth(s.serverMetadata))
	mux.Handle("GET /v2/models/{name}", s.auth(s.modelMetadata))
	mux.Handle("GET /v2/models/{name}/versions/{version}", s.auth(s.modelMetadata))
	mux.Handle("GET /v2/models/{name}/ready", s.auth(s.modelReady))
	mux.Handle("GET /v2/models/{name}/versions/{version}/ready", s.auth(s.modelReady))
	mux.Handle("POST /v2/models/{name}/infer", s.auth(s.inferHTTP))
	mux.Handle("POST /v2/models/{name}/versions/{version}/infer", s.auth(s.inferHTTP))
	return mux
}

// auth requires the bearer token when one is set.
func (s *Server) auth(h http.HandlerFunc) http.Handler {
	if s.opts.Token == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.tokenOK(r.Header.Get("Authorization")) {
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeError(w, fmt.Errorf("%w: missing or wrong bearer token", ErrUnauthorized))
			return
		}
		h(w, r)
	})
}

// tokenOK compares an Authorization value with the token in constant time.
func (s *Server) tokenOK(header string) bool {
	want := "Bearer " + s.opts.Token
	return subtle.ConstantTimeCompare([]byte(header), []byte(want)) == 1
}

// serverMetadata answers GET /v2.
func (s *Server) serverMetadata(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"name": s.opts.ServerName, "version": s.opts.ServerVersion, "extensions": extensions,
	})
}

// extensions are the protocol extensions the server implements.
var extensions = []string{"binary_tensor_data"}

// jsonTensorMetadata is $metadata_tensor.
type jsonTensorMetadata struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// modelMetadata answers GET /v2/models/{name}[/versions/{version}].
func (s *Server) modelMetadata(w http.ResponseWriter, r *http.Request) {
	e, err := s.lookup(r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		writeError(w, err)
		return
	}
	conv := func(ts []TensorMetadata) []jsonTensorMetadata {
		out := make([]jsonTensorMetadata, len(ts))
		for i, t := range ts {
			out[i] = jsonTensorMetadata(t)
		}
		return out
	}
	versions := e.md.Versions
	if versions == nil {
		versions = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name": e.md.Name, "versions": versions, "platform": e.md.Platform,
		"inputs": conv(e.md.Inputs), "outputs": conv(e.md.Outputs),
	})
}

// modelReady answers GET /v2/models/{name}[/versions/{version}]/ready.
func (s *Server) modelReady(w http.ResponseWriter, r *http.Request) {
	e, err := s.lookup(r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		writeError(w, err)
		return
	}
	ready := s.ready.Load() && e.model.Ready()
	writeJSON(w, readyStatus(ready), map[string]any{"name": e.md.Name, "ready": ready})
}

// readyStatus is 200 when ready and 503 when not, for Kubernetes probes.
func readyStatus(ready bool) int {
	if ready {
		return http.StatusOK
	}
	return http.StatusServiceUnavailable
}

// inferHTTP answers POST /v2/models/{name}[/versions/{version}]/infer.
func (s *Server) inferHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	name, version := r.PathValue("name"), r.PathValue("version")
	ctx, span := s.startSpan(tracing.ExtractHTTP(r.Context(), r.Header), name, "rest")
	var err error
	defer func() { tracing.End(span, err) }()
	e, err := s.lookup(name, version)
	if err != nil {
		s.finish("", "rest", false, start, nil, err)
		writeError(w, err)
		return
	}
	release, err := s.admit(e)
	if err != nil {
		s.finish(name, "rest", false, start, nil, err)
		writeError(w, err)
		return
	}
	defer release()
	req, err := s.readRequest(w, r, e)
	if err != nil {
		s.finish(name, "rest", false, start, nil, err)
		writeError(w, err)
		return
	}
	resp, err := s.run(ctx, e, req)
	if err == nil && resp.ModelVersion == "" {
		resp.ModelVersion = version
	}
	s.finish(name, "rest", true, start, resp, err)
	if err != nil {
		writeError(w, err)
		return
	}
	s.writeResponse(w, resp, req)
}

// readRequest reads, decodes and validates a REST inference body within
// the size limits.
func (s *Server) readRequest(w http.ResponseWriter, r *http.Request, e *entry) (*InferRequest, error) {
	if r.ContentLength > s.opts.MaxBodyBytes {
		return nil, fmt.Errorf("%w: body of %d bytes is over the limit of %d bytes", ErrTooLarge, r.ContentLength, s.opts.MaxBodyBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return nil, fmt.Errorf("%w: body is over the limit of %d bytes", ErrTooLarge, s.opts.MaxBodyBytes)
	} else if err != nil {
		return nil, fmt.Errorf("%w: read body: %w", ErrInvalidInput, err)
	}
	headerLen := int64(-1)
	if h := r.Header.Get(headerLength); h != "" {
		if headerLen, err = strconv.ParseInt(h, 10, 64); err != nil || headerLen < 0 {
			return nil, inputErr("", headerLength+" as a byte count", "%q", h)
		}
	}
	req, err := decodeRequest(body, headerLen, s.opts.MaxElements)
	if err != nil {
		return nil, err
	}
	return req, validate(&e.md, req, s.opts.MaxElements)
}

// writeResponse encodes resp in JSON, with binary outputs where asked.
func (s *Server) writeResponse(w http.ResponseWriter, resp *InferResponse, req *InferRequest) {
	binaryOut := make(map[string]bool)
	all, _ := req.Parameters[paramBinaryOutput].(bool)
	for _, t := range resp.Outputs {
		binaryOut[t.Name] = all
	}
	for _, o := range req.Outputs {
		binaryOut[o.Name] = o.Binary
	}
	header, binary, err := encodeResponse(resp, binaryOut)
	if err != nil {
		s.opts.Logger.Error("encode response", "model", resp.ModelName, "err", err)
		writeError(w, err)
		return
	}
	if len(binary) == 0 {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(header)))
		_, _ = w.Write(header)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set(headerLength, strconv.Itoa(len(header)))
	w.Header().Set("Content-Length", strconv.Itoa(len(header)+len(binary)))
	_, _ = w.Write(header)
	_, _ = w.Write(binary)
}

// writeError writes {"error": ...} with err's status code.
func writeError(w http.ResponseWriter, err error) {
	o := classify(err)
	if o.http == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", defaultRetryAfterSec)
	}
	writeJSON(w, o.http, map[string]string{"error": err.Error()})
}

// writeJSON writes v as a JSON body with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
