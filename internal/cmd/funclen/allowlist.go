package main

import (
	"fmt"
	"strings"
)

// allowlist maps a package-qualified function name to the reason it may
// stay long for now.
type allowlist map[string]string

// parseAllowlist reads an allowlist: per line a name, blanks, a reason;
// blank lines and # comments are skipped.
func parseAllowlist(file, text string) (allowlist, error) {
	allow := allowlist{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name := strings.Fields(line)[0]
		reason := strings.TrimSpace(line[len(name):])
		if reason == "" {
			return nil, fmt.Errorf("%s:%d: %s: give the reason it may stay long", file, i+1, name)
		}
		if _, dup := allow[name]; dup {
			return nil, fmt.Errorf("%s:%d: %s is listed twice", file, i+1, name)
		}
		allow[name] = reason
	}
	return allow, nil
}
