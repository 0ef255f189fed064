// Command funclen fails when a function is too long to hold in one's head:
// it lists every function or method of the given package directories
// (non-test files, all build tags) that spans more than -max lines, from
// the line of its func keyword to the line of its closing brace, function
// literals inside it included.
//
// A long function passes when its doc comment holds a line
//
//	// long: <why it reads best in one piece>
//
// with a reason, or when the allowlist (-allow) names it. The allowlist is
// for functions someone is splitting: one name a line, the package
// directory first, then the reason, as in
//
//	pipeline.(*Pipeline).Run  owned by the output-protocol work, split next
//
// Blank lines and lines starting with # are ignored. An entry without a
// reason, and an entry for a function that is no longer long (or gone), is
// an error, so the list only shrinks.
//
// The exit status is 0 when every function passes, 1 when one does not, 2
// when the check could not run (an unreadable file, a bad allowlist).
//
// Usage:
//
//	go run ./internal/cmd/funclen [-max 80] [-allow FILE] DIR...
package main
