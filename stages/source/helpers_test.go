package source

import (
	"context"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"go.yaml.in/yaml/v3"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

func itoa(i int) string { return strconv.Itoa(i) }

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func yamlNode(t *testing.T, s string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(s), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

// drainRecs reads src to the end; the batches are released when t ends.
func drainRecs(t *testing.T, src stages.Source) ([]arrow.RecordBatch, error) {
	t.Helper()
	recs, err := stagetest.Drain(context.Background(), src)
	t.Cleanup(func() { stagetest.Release(recs) })
	return recs, err
}
