package serve

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/pipe-ml/pipe/serve/inferpb"
)

// TestServeTLS serves both protocols over Options.TLS, with httptest's
// certificate for 127.0.0.1.
func TestServeTLS(t *testing.T) {
	cert := httptest.NewTLSServer(nil) // only for its certificate and client
	defer cert.Close()
	s, err := New([]Model{doubleModel()}, Options{TLS: cert.TLS.Clone()})
	if err != nil {
		t.Fatal(err)
	}
	s.SetReady(true)
	hl, _ := net.Listen("tcp", "127.0.0.1:0")
	gl, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, hl, gl) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()

	client := cert.Client()
	client.Timeout = 10 * time.Second
	resp, err := client.Post("https://"+hl.Addr().String()+"/v2/models/double/infer", "application/json", strings.NewReader(okBody))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Errorf("https: %d %s (TLS %v)", resp.StatusCode, b, resp.TLS != nil)
	}
	client.CloseIdleConnections()

	pool := x509.NewCertPool()
	pool.AddCert(cert.Certificate())
	conn, err := grpc.NewClient(gl.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	live, err := inferpb.NewGRPCInferenceServiceClient(conn).ServerLive(context.Background(), &inferpb.ServerLiveRequest{})
	if err != nil || !live.GetLive() {
		t.Errorf("grpc over TLS: %v, %v", live, err)
	}
}
