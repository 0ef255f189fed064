package pipeline

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestCut(t *testing.T) {
	const head = "version: 1\nname: j\nstages:\n"
	gen := "  - {id: gen, type: generate, with: {count: 1, columns: [{name: a, type: int64}]}}\n"
	other := "  - {id: other, type: generate, with: {count: 1, columns: [{name: b, type: int64}]}}\n"
	sink := func(in string) string {
		return "  - {id: write, type: parquet_sink, inputs: [" + in + "], with: {path: /tmp/never}}\n"
	}
	cases := []struct {
		name, stages, from, to string
		want                   []string // ids of the cut, in order
		err                    string
	}{
		{"chain", gen + "  - {id: c, type: cast, inputs: [gen], with: {columns: {a: float32}}}\n" + sink("c"),
			"gen", "c", []string{"gen", "c", ResponseStage}, ""},
		{"drops stages after the output and beside the path",
			gen + "  - {id: c, type: cast, inputs: [gen], with: {columns: {a: float32}}}\n  - {id: d, type: cast, inputs: [gen], with: {columns: {a: int32}}}\n" + sink("c"),
			"gen", "c", []string{"gen", "c", ResponseStage}, ""},
		{"zip of two branches", gen + "  - {id: l, type: cast, inputs: [gen], with: {columns: {a: float32}}}\n  - {id: r, type: select, inputs: [gen], with: {rename: {a: b}}}\n  - {id: z, type: zip, inputs: [l, r]}\n" + sink("z"),
			"gen", "z", []string{"gen", "l", "r", "z", ResponseStage}, ""},
		{"filter", gen + "  - {id: f, type: filter, inputs: [gen], with: {where: a > 0}}\n" + sink("f"),
			"gen", "f", nil, `stage "f" (filter) is between the request and the response, and it drops rows`},
		{"on_error skip", gen + "  - {id: c, type: cast, inputs: [gen], on_error: skip, with: {columns: {a: float32}}}\n" + sink("c"),
			"gen", "c", nil, `stage "c" has on_error: skip`},
		{"a second source", gen + other + "  - {id: z, type: zip, inputs: [gen, other]}\n" + sink("z"),
			"gen", "z", nil, `stage "z" also reads other, which the request does not feed`},
		{"output not downstream", gen + other + sink("other"),
			"gen", "other", nil, `stage "other" does not read, directly or through others, from "gen"`},
		{"unknown", gen + sink("gen"), "gen", "nope", nil, `no stage "nope" (the response)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			job, err := Load([]byte(head+c.stages), "j.yaml", t.TempDir(), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			cut, err := job.Cut(CutOptions{From: c.from, To: c.to, Request: "req", Response: "resp"})
			if c.err != "" {
				if !errors.Is(err, ErrNotServable) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %v, want ErrNotServable with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, s := range cut.Stages {
				ids = append(ids, s.ID)
			}
			if !slices.Equal(ids, c.want) {
				t.Fatalf("cut %v, want %v", ids, c.want)
			}
			if cut.Stages[0].Type != "req" || cut.Stages[0].With != nil || cut.Stage(ResponseStage).Type != "resp" {
				t.Fatalf("ends not replaced: %+v %+v", cut.Stages[0], cut.Stage(ResponseStage))
			}
			if job.Stages[0].Type != "generate" {
				t.Fatal("Cut changed the job it cut")
			}
		})
	}
}
