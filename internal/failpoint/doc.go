// Package failpoint lets tests stop the process at named steps of the
// output commit protocol, to prove that a crash between any two steps leaves
// no partial file under a final name and no stale success marker.
//
// Code marks a step with [Inject]:
//
//	if err := failpoint.Inject("sink/beforeRename"); err != nil {
//		return err
//	}
//
// In a normal build [Inject] is an empty function that returns nil. In a
// binary built with `-tags failpoints` it reads the environment variable
// PIPE_FAILPOINTS once, a list of `name=action` or `name=action@n` separated
// by `;` (for example `sink/afterRename=kill@2;commit/beforeSuccess=kill`),
// and at the n-th hit (default the first) of a named step performs the
// action: `kill` sends SIGKILL to the process itself (no deferred cleanup
// runs, as in a real crash), `panic` panics, `error` makes Inject return
// [ErrInjected], `stop` sends SIGSTOP to the process itself, so that a
// test can change files between two steps and then send SIGCONT.
//
// # Concurrency
//
// Inject is safe for concurrent use; hits are counted under a mutex.
//
// # Errors
//
// A malformed PIPE_FAILPOINTS makes the first Inject panic with a message
// naming the bad entry: it is a test's mistake, and must not pass silently.
package failpoint
