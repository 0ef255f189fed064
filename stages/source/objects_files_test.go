package source

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

// TestFilesObjectVersions checks that a files source lists the size and
// ETag of each object it reads for the job's fingerprint, only the
// objects (not the local files it also reads), and that an object
// replaced after the listing fails naming its URL rather than being read
// in a version the fingerprint does not hold.
func TestFilesObjectVersions(t *testing.T) {
	client, bucket := startObjects(t)
	mem := stagetest.Mem(t)
	objs := map[string][]byte{"img/a.png": []byte("alpha"), "img/b.png": []byte("bravo!"), "img/c.txt": []byte("skip")}
	putObjects(t, client, bucket, objs)
	dir := t.TempDir()
	writeFile(t, dir+"/local.png", "local")
	url := func(k string) string { return "s3://" + bucket + "/" + k }
	src, err := build(t, mem, "files_source", fmt.Sprintf("{paths: [%q, local.png], extensions: [.png]}", url("img/")), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	v := src.(stages.ObjectVersioner).ObjectVersions()
	var got []string
	for _, o := range v {
		got = append(got, fmt.Sprintf("%s %d %t", o.URL, o.Size, o.ETag != ""))
	}
	want := []string{url("img/a.png") + " 5 true", url("img/b.png") + " 6 true"}
	if !slices.Equal(got, want) {
		t.Errorf("object versions %q, want %q (with ETags)", got, want)
	}
	shard, err := src.(stages.Sharder).Shard(1, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	defer shard.Close()
	putObjects(t, client, bucket, map[string][]byte{"img/b.png": []byte("changed")})
	_, err = drainRecs(t, shard)
	if !errors.Is(err, ErrObjectChanged) || !strings.Contains(err.Error(), url("img/b.png")) {
		t.Fatalf("err %v, want one naming %s, replaced after the listing", err, url("img/b.png"))
	}
	if testing.Verbose() {
		t.Log(err)
	}
}
