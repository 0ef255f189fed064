package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pipe-ml/pipe/executor"
	"github.com/pipe-ml/pipe/pipeline"
)

func newBackendsCmd(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "backends",
		Short: "List the backends: available or not and why, formats, element types, devices",
		Long: `List every backend pipe knows: whether it can run here (and why not), the
model formats and tensor element types it takes, its devices, and its
concurrency. After a run, pipe run prints the same table with the health of
every (model, backend) it used: EWMA latency, throughput and error rate.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			ex, err := executor.New(executor.Options{Log: log})
			if err != nil {
				return err
			}
			defer ex.Close()
			return writeBackends(g.stdout, ex.Backends(), asJSON)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

// backendJSON is a backend as `pipe backends --json` prints it: snake_case
// keys, as in metrics.json, and [] for empty lists.
type backendJSON struct {
	Name           string                 `json:"name"`
	Available      bool                   `json:"available"`
	Reason         string                 `json:"reason"`
	Formats        []string               `json:"formats"`
	Kernels        []string               `json:"kernels"`
	ElemTypes      []string               `json:"element_types"`
	Devices        []deviceJSON           `json:"devices"`
	StaticShapes   bool                   `json:"static_shapes"`
	MaxConcurrency int                    `json:"max_concurrency"`
	QueueSize      int                    `json:"queue_size"`
	Models         []pipeline.ModelReport `json:"models"`
}

type deviceJSON struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	Cores       int    `json:"cores"`
	MemoryBytes int64  `json:"memory_bytes"`
}

func backendsJSON(bs []executor.BackendStatus) []backendJSON {
	orEmpty := func(s []string) []string { return append([]string{}, s...) }
	out := []backendJSON{}
	for _, b := range bs {
		v := backendJSON{Name: b.Name, Available: b.Available, Reason: b.Reason, Formats: orEmpty(b.Formats),
			Kernels: orEmpty(b.Kernels), ElemTypes: orEmpty(b.ElemTypes), Devices: []deviceJSON{},
			StaticShapes: b.StaticShapes, MaxConcurrency: b.MaxConcurrency, QueueSize: b.QueueSize, Models: []pipeline.ModelReport{}}
		for _, d := range b.Devices {
			v.Devices = append(v.Devices, deviceJSON{Name: d.Name, Kind: d.Kind, Cores: d.Cores, MemoryBytes: d.Memory})
		}
		for _, m := range b.Models {
			v.Models = append(v.Models, pipeline.ModelReport{Model: m.Model, SHA256: m.SHA256, Runs: m.Runs, Errors: m.Errors,
				ErrorRate: m.ErrorRate, LatencySeconds: m.Latency.Seconds(), RowsPerSecond: m.Throughput,
				Breaker: m.Breaker.String(), Degraded: m.Degraded})
		}
		out = append(out, v)
	}
	return out
}

func writeBackends(w io.Writer, bs []executor.BackendStatus, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(backendsJSON(bs))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "backend\tavailable\tformats\telement types\tdevices\tconcurrency\tnote")
	for _, b := range bs {
		avail := "yes"
		note := ""
		if !b.Available {
			avail, note = "no", b.Reason
		}
		var devs []string
		for _, d := range b.Devices {
			s := d.Name
			if d.Cores > 0 {
				s += fmt.Sprintf(" (%d cores)", d.Cores)
			}
			devs = append(devs, s)
		}
		formats := strings.Join(b.Formats, ",")
		if len(b.Kernels) > 0 {
			formats = strings.TrimPrefix(formats+",kernels:"+strings.Join(b.Kernels, "|"), ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", b.Name, avail, formats,
			abbreviate(b.ElemTypes, 4), strings.Join(devs, ", "), b.MaxConcurrency, note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var rows []string
	for _, b := range bs {
		for _, m := range b.Models {
			state := "ok"
			if m.Degraded {
				state = "degraded"
			}
			rows = append(rows, fmt.Sprintf("%s\t%s\t%d\t%d\t%s\t%.0f\t%.3f\t%s\t%s", m.Model, b.Name, m.Runs, m.Errors,
				m.Latency.Round(1000), m.Throughput, m.ErrorRate, m.Breaker, state))
		}
	}
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "model\tbackend\truns\terrors\tlatency (ewma)\trows/s (ewma)\terror rate\tbreaker\thealth")
	for _, r := range rows {
		fmt.Fprintln(tw, r)
	}
	return tw.Flush()
}

func abbreviate(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ",")
	}
	return strings.Join(items[:n], ",") + fmt.Sprintf(",+%d", len(items)-n)
}
