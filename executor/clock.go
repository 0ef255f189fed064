package executor

import "time"

// Clock is the executor's source of time: latency measurement, breaker
// timeouts, retry backoff and admission deadlines. Tests inject a fake one.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives the time once d has passed.
	After(d time.Duration) <-chan time.Time
}

// realClock is [Clock] backed by package time.
type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
