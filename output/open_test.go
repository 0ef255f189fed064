package output

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestScheme(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"s3://b/out", "s3"},
		{"gs://b", "gs"},
		{"out/scores", ""},
		{"/abs/out", ""},
		{"./s3://x", ""},
		{"S3://b", ""},
		{"C:\\out", ""},
	} {
		t.Run(c.in, func(t *testing.T) {
			if got := Scheme(c.in); got != c.want {
				t.Errorf("Scheme(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	ctx := t.Context()
	openErr := errors.New("bad bucket name")
	RegisterScheme("test-open", func(_ context.Context, loc string) (Folder, error) {
		if strings.Contains(loc, "bad") {
			return nil, openErr
		}
		return Local("/mapped/" + strings.TrimPrefix(loc, "test-open://")), nil
	})
	t.Run("local path", func(t *testing.T) {
		f, err := Open(ctx, "out/x")
		if err != nil || f.Path("") != "out/x" {
			t.Fatalf("Open(out/x) = %v, %v", f, err)
		}
	})
	t.Run("registered scheme", func(t *testing.T) {
		f, err := Open(ctx, "test-open://b/x")
		if err != nil || f.Path("") != "/mapped/b/x" {
			t.Fatalf("Open = %v, %v; want the registered opener's folder", f, err)
		}
	})
	t.Run("opener error names the URL", func(t *testing.T) {
		_, err := Open(ctx, "test-open://bad")
		if !errors.Is(err, openErr) || !strings.Contains(err.Error(), "test-open://bad") {
			t.Fatalf("Open = %v; want the opener's error naming the URL", err)
		}
	})
	t.Run("unknown scheme", func(t *testing.T) {
		_, err := Open(ctx, "nope://b/x")
		if !errors.Is(err, ErrUnknownScheme) || !strings.Contains(err.Error(), "nope://b/x") || !strings.Contains(err.Error(), "test-open") {
			t.Fatalf("Open = %v; want ErrUnknownScheme naming the URL and the known schemes", err)
		}
	})
	t.Run("duplicate registration panics", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("registering a scheme twice did not panic")
			}
		}()
		RegisterScheme("test-open", func(context.Context, string) (Folder, error) { return nil, nil })
	})
}
