package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	fs := flag.NewFlagSet("funclen", flag.ContinueOnError)
	max := fs.Int("max", 80, "the most lines a function may span")
	allowFile := fs.String("allow", "", "allowlist file: package-qualified function names, each with a reason")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	os.Exit(run(os.Stdout, os.Stderr, *max, *allowFile, fs.Args()))
}

// run checks dirs and prints every finding; it returns the exit status.
func run(stdout, stderr io.Writer, max int, allowFile string, dirs []string) int {
	if len(dirs) == 0 || max < 1 {
		fmt.Fprintln(stderr, "usage: funclen [-max N] [-allow FILE] DIR...")
		return 2
	}
	allow := allowlist{}
	if allowFile != "" {
		data, err := os.ReadFile(allowFile)
		if err != nil {
			fmt.Fprintf(stderr, "funclen: %v\n", err)
			return 2
		}
		if allow, err = parseAllowlist(allowFile, string(data)); err != nil {
			fmt.Fprintf(stderr, "funclen: %v\n", err)
			return 2
		}
	}
	found, err := check(dirs, max, allow)
	if err != nil {
		fmt.Fprintf(stderr, "funclen: %v\n", err)
		return 2
	}
	for _, f := range found {
		fmt.Fprintln(stdout, f)
	}
	if len(found) > 0 {
		fmt.Fprintf(stdout, "funclen: %d problem(s); split the function, or say why it reads best whole with a // long: <reason> line in its doc comment\n", len(found))
		return 1
	}
	return 0
}
