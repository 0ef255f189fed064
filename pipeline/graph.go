package pipeline

import (
	"fmt"
	"io"
	"strings"
)

// WriteGraph writes the job's stage graph in the given format: "dot"
// (Graphviz) or "mermaid". It needs only the parsed job, not built stages.
func WriteGraph(w io.Writer, job *Job, format string) error {
	var b strings.Builder
	switch format {
	case "dot":
		fmt.Fprintf(&b, "digraph %q {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n", graphName(job))
		for _, s := range job.Stages {
			fmt.Fprintf(&b, "  %q [label=\"%s\\n(%s)\"];\n", s.ID, s.ID, s.Type)
		}
		for _, s := range job.Stages {
			for _, in := range s.Inputs {
				fmt.Fprintf(&b, "  %q -> %q;\n", in, s.ID)
			}
		}
		b.WriteString("}\n")
	case "mermaid":
		b.WriteString("flowchart LR\n")
		for _, s := range job.Stages {
			fmt.Fprintf(&b, "  %s[\"%s<br/>(%s)\"]\n", s.ID, s.ID, s.Type)
		}
		for _, s := range job.Stages {
			for _, in := range s.Inputs {
				fmt.Fprintf(&b, "  %s --> %s\n", in, s.ID)
			}
		}
	default:
		return fmt.Errorf("unknown graph format %q (use dot or mermaid)", format)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func graphName(job *Job) string {
	if job.Name != "" {
		return job.Name
	}
	return "job"
}
