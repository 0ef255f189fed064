package failpoint

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// EnvVar names the environment variable that enables failpoints in a binary
// built with `-tags failpoints`.
const EnvVar = "PIPE_FAILPOINTS"

// ErrInjected is returned by [Inject] for the `error` action.
var ErrInjected = errors.New("failpoint: injected error")

// Action is what a failpoint does when it fires.
type Action string

// The actions.
const (
	ActionNone  Action = ""
	ActionKill  Action = "kill"
	ActionPanic Action = "panic"
	ActionError Action = "error"
	// ActionStop sends SIGSTOP to the process itself: it stays stopped,
	// as under a debugger, until something sends SIGCONT (a test that
	// changes files between two steps).
	ActionStop Action = "stop"
)

// rule is one parsed entry: fire action at hit number at.
type rule struct {
	action Action
	at     int
}

// Set is a parsed failpoint list with hit counters.
type Set struct {
	mu    sync.Mutex
	rules map[string]rule
	hits  map[string]int
}

// Parse parses a PIPE_FAILPOINTS value. An empty spec gives an empty set.
func Parse(spec string) (*Set, error) {
	s := &Set{rules: map[string]rule{}, hits: map[string]int{}}
	for _, ent := range strings.Split(spec, ";") {
		ent = strings.TrimSpace(ent)
		if ent == "" {
			continue
		}
		name, act, ok := strings.Cut(ent, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("%s: entry %q is not name=action", EnvVar, ent)
		}
		r := rule{at: 1}
		if a, n, ok := strings.Cut(act, "@"); ok {
			v, err := strconv.Atoi(strings.TrimSpace(n))
			if err != nil || v < 1 {
				return nil, fmt.Errorf("%s: entry %q: hit number %q is not a positive integer", EnvVar, ent, n)
			}
			act, r.at = a, v
		}
		switch a := Action(strings.TrimSpace(act)); a {
		case ActionKill, ActionPanic, ActionError, ActionStop:
			r.action = a
		default:
			return nil, fmt.Errorf("%s: entry %q: unknown action %q (want kill, panic, error or stop)", EnvVar, ent, act)
		}
		if _, dup := s.rules[name]; dup {
			return nil, fmt.Errorf("%s: failpoint %q given twice", EnvVar, name)
		}
		s.rules[name] = r
	}
	return s, nil
}

// Hit counts one hit of the named failpoint and returns the action to
// perform now, or ActionNone.
func (s *Set) Hit(name string) Action {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rules[name]
	if !ok {
		return ActionNone
	}
	s.hits[name]++
	if s.hits[name] != r.at {
		return ActionNone
	}
	return r.action
}
