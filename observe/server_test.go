package observe

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestServerServesMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "pipe_test_things_total", Help: "Things."})
	c.Add(7)
	reg.MustRegister(c)
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Serve(reg, nil)
	defer s.Close(context.Background())
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + s.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "pipe_test_things_total 7") {
		t.Errorf("GET /metrics: %d\n%s", resp.StatusCode, body)
	}
	if s.srv.ReadHeaderTimeout == 0 || s.srv.WriteTimeout == 0 || s.srv.IdleTimeout == 0 {
		t.Error("server timeouts not set")
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestListen(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		addr    string
		wantErr string
		host    string
	}{
		{addr: busy.Addr().String(), wantErr: "address already in use"},
		{addr: "nonsense", wantErr: "missing port"},
		{addr: ":0", host: "127.0.0.1"},
		{addr: "127.0.0.1:0", host: "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			s, err := Listen(tt.addr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					if s != nil {
						s.Close(context.Background())
					}
					t.Fatalf("Listen(%q) = %v, want error containing %q", tt.addr, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(context.Background())
			host, _, _ := net.SplitHostPort(s.Addr())
			if host != tt.host {
				t.Errorf("bound %s, want host %s", s.Addr(), tt.host)
			}
		})
	}
}
