package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// ErrCutOff is returned (wrapped) by [Server.Serve] when the drain timed
// out and in-flight requests were cancelled.
var ErrCutOff = errors.New("requests cut off at shutdown")

// Serve answers REST on httpLn and gRPC on grpcLn (either may be nil) until
// ctx is done or a listener fails. Then it drains: readiness goes false, new
// requests are refused, the listeners close, and in-flight requests get
// DrainTimeout to finish before their contexts are cancelled. It returns
// nil after a clean drain, an error wrapping [ErrCutOff] with how many
// requests were cut off, or the listener's error. It returns only after
// every goroutine it started and every request it admitted has finished,
// so a Model must return once its ctx is cancelled. Serve is called once.
func (s *Server) Serve(ctx context.Context, httpLn, grpcLn net.Listener) error {
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 30 * time.Second, TLSConfig: s.opts.TLS}
	gopts := []grpc.ServerOption{grpc.MaxRecvMsgSize(int(min(s.opts.MaxBodyBytes, 1<<31-1)))}
	if s.opts.TLS != nil {
		gopts = append(gopts, grpc.Creds(credentials.NewTLS(s.opts.TLS)))
	}
	gs := grpc.NewServer(gopts...)
	s.RegisterGRPC(gs)

	var wg sync.WaitGroup
	errc := make(chan error, 2)
	if httpLn != nil {
		wg.Go(func() {
			var err error
			if s.opts.TLS != nil {
				err = hs.ServeTLS(httpLn, "", "")
			} else {
				err = hs.Serve(httpLn)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serve: http: %w", err)
			}
		})
	}
	if grpcLn != nil {
		wg.Go(func() {
			if err := gs.Serve(grpcLn); err != nil {
				errc <- fmt.Errorf("serve: grpc: %w", err)
			}
		})
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	err := s.drain(hs, gs)
	wg.Wait()
	return errors.Join(serveErr, err)
}

// drain refuses new requests, stops both servers gracefully within
// DrainTimeout, then cancels what is left and waits for it.
func (s *Server) drain(hs *http.Server, gs *grpc.Server) error {
	s.SetReady(false)
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	s.opts.Logger.Info("draining", "inflight", s.active.Load(), "timeout", s.opts.DrainTimeout)

	dctx, cancel := context.WithTimeout(context.Background(), s.opts.DrainTimeout)
	defer cancel()
	stopped := make(chan struct{})
	go func() { // waited for below, on every path
		gs.GracefulStop()
		close(stopped)
	}()
	_ = hs.Shutdown(dctx) // a timeout is handled below
	idle := make(chan struct{})
	go func() { // ends once inflight is done, which the hard stop forces
		s.inflight.Wait()
		close(idle)
	}()
	var cut int64
	select {
	case <-idle:
		select {
		case <-stopped:
		case <-dctx.Done():
		}
	case <-dctx.Done():
	}
	if dctx.Err() != nil {
		cut = s.active.Load()
		s.cut()
		_ = hs.Close()
		gs.Stop()
	}
	<-stopped
	<-idle
	if cut > 0 {
		s.opts.Logger.Warn("drain timed out", "cut_off", cut)
		return fmt.Errorf("serve: %w: %d after %v", ErrCutOff, cut, s.opts.DrainTimeout)
	}
	return nil
}
