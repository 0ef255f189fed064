package faultproxy

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFaults(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 1000)
	var gotHost string
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHost = r.Host
		_, _ = w.Write(body)
	}))
	defer target.Close()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	get := func(p *Proxy) (int, []byte, error) {
		resp, err := client.Get(p.URL + "/b/k")
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		return resp.StatusCode, data, err
	}
	for _, tc := range []struct {
		name  string
		f     Faults
		check func(code int, data []byte, err error) string
	}{
		{"none", Faults{}, func(code int, data []byte, err error) string {
			if err != nil || code != 200 || !bytes.Equal(data, body) {
				return "want the body whole"
			}
			return ""
		}},
		{"refused", Faults{Refuse: 1}, func(code int, data []byte, err error) string {
			if err != nil || code != 503 || !strings.Contains(string(data), "SlowDown") {
				return "want 503 SlowDown"
			}
			return ""
		}},
		{"reset", Faults{Reset: 1}, func(code int, data []byte, err error) string {
			if err == nil {
				return "want a transport error"
			}
			return ""
		}},
		{"truncated", Faults{Truncate: 1}, func(code int, data []byte, err error) string {
			if code != 200 || !errors.Is(err, io.ErrUnexpectedEOF) || len(data) != len(body)/2 {
				return "want half the body, then unexpected EOF"
			}
			return ""
		}},
		{"slowed", Faults{Slow: 1, Delay: 50 * time.Millisecond}, func(code int, data []byte, err error) string {
			if err != nil || !bytes.Equal(data, body) {
				return "want the body whole"
			}
			return ""
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Start(t, target.URL, tc.f)
			code, data, err := get(p)
			if why := tc.check(code, data, err); why != "" {
				t.Fatalf("status %d, %d bytes, err %v: %s", code, len(data), err, why)
			}
			hit := int64(0)
			for k := range kinds {
				hit += p.Count(k)
			}
			if want := int64(boolInt(tc.name != "none")); hit != want || p.Requests() != 1 {
				t.Fatalf("%d faults counted of %d requests, want %d of 1", hit, p.Requests(), want)
			}
		})
	}
	if !strings.HasPrefix(gotHost, "127.0.0.1:") {
		t.Errorf("the target saw Host %q, want the proxy's", gotHost)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
