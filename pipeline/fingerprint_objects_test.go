package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/pipe-ml/pipe/stages"
)

// versioned is a source stub that reads objects of the versions it holds.
type versioned struct {
	stages.Stage
	v []stages.ObjectVersion
}

func (s versioned) ObjectVersions() []stages.ObjectVersion { return s.v }

func TestFingerprintObjects(t *testing.T) {
	hash := func(st stages.Stage) string {
		h := sha256.New()
		fpObjects(h, st)
		return hex.EncodeToString(h.Sum(nil))
	}
	obj := stages.ObjectVersion{URL: "s3://b/k.parquet", Size: 10, ETag: `"e1"`}
	base := hash(versioned{v: []stages.ObjectVersion{obj}})
	if base == hash(nil) {
		t.Fatal("an object adds nothing to the fingerprint")
	}
	tests := []struct {
		name string
		edit func(o *stages.ObjectVersion)
		same bool
	}{
		{"same version", func(*stages.ObjectVersion) {}, true},
		{"new ETag", func(o *stages.ObjectVersion) { o.ETag = `"e2"` }, false},
		{"new size", func(o *stages.ObjectVersion) { o.Size = 11 }, false},
		{"other key", func(o *stages.ObjectVersion) { o.URL = "s3://b/l.parquet" }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := obj
			tc.edit(&o)
			if got := hash(versioned{v: []stages.ObjectVersion{o}}) == base; got != tc.same {
				t.Errorf("same fingerprint %v, want %v", got, tc.same)
			}
		})
	}
}
