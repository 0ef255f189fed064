package executor

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/pipe-ml/pipe/bridge"
)

// entry is one loaded model: a session of one model content on one backend
// with one set of options. Entries are shared by every [Model] that asks
// for the same key and reference counted; an entry nobody references stays
// cached until evicted.
type entry struct {
	key  string // regKey.s
	hash uint64 // regKey.h

	backend string
	size    int64 // the model's size on disk, the proxy for its memory
	tr      *track

	ready chan struct{} // closed when the load has finished
	sess  bridge.Session
	info  bridge.ModelInfo
	err   error // load error; set before ready closes

	// Guarded by registry.mu.
	refs     int
	lastUsed uint64
	loaded   bool
}

// regKey identifies an entry: s is the canonical key (content hash,
// backend, options), h its hash, computed once at Open.
type regKey struct {
	h uint64
	s string
}

var keySeed = maphash.MakeSeed()

func makeKey(s string) regKey { return regKey{h: maphash.String(keySeed, s), s: s} }

// registry holds the loaded models. Lookups read a copy-on-write index
// without locking; loads, releases and evictions take mu.
type registry struct {
	limit int64 // ModelMemory; < 0: keep nothing unreferenced

	index atomic.Pointer[map[uint64][]*entry]

	mu     sync.Mutex
	total  int64 // sum of sizes of loaded entries
	tick   uint64
	closed bool
}

func newRegistry(limit int64) *registry {
	r := &registry{limit: limit}
	m := map[uint64][]*entry{}
	r.index.Store(&m)
	return r
}

// lookup returns the entry for k, or nil. It takes no lock and allocates
// nothing.
func (r *registry) lookup(k regKey) *entry {
	for _, e := range (*r.index.Load())[k.h] {
		if e.key == k.s {
			return e
		}
	}
	return nil
}

// insertLocked adds e to the index (copy on write: readers never see a
// slice change under them).
func (r *registry) insertLocked(e *entry) {
	old := *r.index.Load()
	m := make(map[uint64][]*entry, len(old)+1)
	for h, x := range old {
		m[h] = x
	}
	m[e.hash] = append(m[e.hash][:len(m[e.hash]):len(m[e.hash])], e)
	r.index.Store(&m)
}

// removeLocked drops e from the index (copy on write).
func (r *registry) removeLocked(e *entry) {
	old := *r.index.Load()
	m := make(map[uint64][]*entry, len(old))
	for h, x := range old {
		m[h] = x
	}
	var keep []*entry
	for _, x := range m[e.hash] {
		if x != e {
			keep = append(keep, x)
		}
	}
	if len(keep) == 0 {
		delete(m, e.hash)
	} else {
		m[e.hash] = keep
	}
	r.index.Store(&m)
}

// loader opens a session for an entry (and warms it up).
type loader func(ctx context.Context) (bridge.Session, error)

// acquire returns the entry for k with one more reference, loading it with
// load when absent. Concurrent acquires of an absent key load it once.
func (r *registry) acquire(ctx context.Context, k regKey, backend string, size int64, tr *track, load loader) (*entry, error) {
	for {
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return nil, ErrClosed
		}
		e := r.lookup(k)
		if e == nil {
			e = &entry{key: k.s, hash: k.h, backend: backend, size: size, tr: tr, ready: make(chan struct{})}
			e.refs = 1
			r.insertLocked(e)
			r.mu.Unlock()
			r.finishLoad(ctx, e, load)
			if e.err != nil {
				return nil, e.err
			}
			return e, nil
		}
		e.refs++
		r.tick++
		e.lastUsed = r.tick
		r.mu.Unlock()

		select {
		case <-e.ready:
		case <-ctx.Done():
			r.release(e)
			return nil, ctx.Err()
		}
		if e.err == nil {
			return e, nil
		}
		r.release(e)
		// The load we waited for failed; ours may fare better only when it
		// failed because its own caller gave up.
		if bridge.ClassOf(e.err) != bridge.ClassCanceled || ctx.Err() != nil {
			return nil, e.err
		}
	}
}

// finishLoad runs load for e, publishes the result and evicts what no
// longer fits.
func (r *registry) finishLoad(ctx context.Context, e *entry, load loader) {
	sess, err := load(ctx)
	var victims []*entry
	r.mu.Lock()
	if err != nil {
		e.err = err
		e.refs = 0
		r.removeLocked(e)
	} else {
		e.sess, e.info, e.loaded = sess, sess.Info(), true
		r.total += e.size
		r.tick++
		e.lastUsed = r.tick
		victims = r.evictLocked()
	}
	r.mu.Unlock()
	close(e.ready)
	closeEntries(victims)
}

// release drops one reference to e.
func (r *registry) release(e *entry) {
	r.mu.Lock()
	e.refs--
	r.tick++
	e.lastUsed = r.tick
	victims := r.evictLocked()
	r.mu.Unlock()
	closeEntries(victims)
}

// evictLocked removes least recently used unreferenced entries while the
// loaded total exceeds the limit, and returns them for closing.
func (r *registry) evictLocked() []*entry {
	return r.evictWhileLocked(func() bool { return r.total > r.limit || (r.limit < 0 && r.total > 0) })
}

// evictWhileLocked closes the least recently used unreferenced model while
// more is true and one is left, and returns those it removed; r.mu is held.
func (r *registry) evictWhileLocked(more func() bool) []*entry {
	var victims []*entry
	for more() {
		var lru *entry
		for _, es := range *r.index.Load() {
			for _, e := range es {
				if e.loaded && e.refs == 0 && (lru == nil || e.lastUsed < lru.lastUsed) {
					lru = e
				}
			}
		}
		if lru == nil {
			break
		}
		r.removeLocked(lru)
		lru.loaded = false
		r.total -= lru.size
		victims = append(victims, lru)
	}
	return victims
}

func closeEntries(es []*entry) {
	for _, e := range es {
		_ = e.sess.Close()
	}
}

// loadedCount returns the number of loaded entries.
func (r *registry) loadedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, es := range *r.index.Load() {
		for _, e := range es {
			if e.loaded {
				n++
			}
		}
	}
	return n
}

// closeAll closes every loaded session, referenced or not; later acquires
// fail with ErrClosed.
func (r *registry) closeAll() error {
	r.mu.Lock()
	r.closed = true
	var all []*entry
	for _, es := range *r.index.Load() {
		for _, e := range es {
			if e.loaded {
				e.loaded = false
				all = append(all, e)
			}
		}
	}
	m := map[uint64][]*entry{}
	r.index.Store(&m)
	r.total = 0
	r.mu.Unlock()
	var errs []error
	for _, e := range all {
		if err := e.sess.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
