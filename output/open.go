package output

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Opener opens the [Folder] at a location of the scheme it was registered
// for ("s3://bucket/prefix"). It should make no request: a missing bucket
// or a refused credential shows at the first call on the folder, which
// names the location.
type Opener func(ctx context.Context, location string) (Folder, error)

// ErrUnknownScheme is wrapped by the error of [Open] on a URL whose scheme
// no package registered.
var ErrUnknownScheme = errors.New("no storage registered for this URL scheme")

// schemes holds the registered openers by scheme.
var schemes = struct {
	sync.RWMutex
	m map[string]Opener
}{m: map[string]Opener{}}

// RegisterScheme makes [Open] open locations "SCHEME://..." with open. A
// storage package calls it from its init (output/s3folder registers "s3");
// a binary gets the storage by importing that package. It panics when the
// scheme is registered twice or is not a plain lower-case scheme name.
func RegisterScheme(scheme string, open Opener) {
	if !schemeName.MatchString(scheme) || open == nil {
		panic(fmt.Sprintf("output: RegisterScheme(%q): not a scheme name, or no opener", scheme))
	}
	schemes.Lock()
	defer schemes.Unlock()
	if _, dup := schemes.m[scheme]; dup {
		panic(fmt.Sprintf("output: scheme %q registered twice", scheme))
	}
	schemes.m[scheme] = open
}

// schemeName is what a URL scheme looks like (RFC 3986, lower case).
var schemeName = regexp.MustCompile(`^[a-z][a-z0-9+.-]*$`)

// Scheme returns the scheme of location when it is a URL
// ("s3://bucket/x" gives "s3"), or "" for a local path.
func Scheme(location string) string {
	scheme, _, ok := strings.Cut(location, "://")
	if !ok || !schemeName.MatchString(scheme) {
		return ""
	}
	return scheme
}

// Open returns the [Folder] at location: a local directory ([Local]) for a
// path, or the folder that the scheme's registered [Opener] opens for a URL.
// Every caller that turns an output location into a Folder goes through
// it. An unknown scheme or a malformed URL is an error naming location.
func Open(ctx context.Context, location string) (Folder, error) {
	scheme := Scheme(location)
	if scheme == "" {
		return Local(location), nil
	}
	schemes.RLock()
	open := schemes.m[scheme]
	schemes.RUnlock()
	if open == nil {
		return nil, fmt.Errorf("output folder %s: %w %q (known: %s)", location, ErrUnknownScheme, scheme, strings.Join(knownSchemes(), ", "))
	}
	f, err := open(ctx, location)
	if err != nil {
		return nil, fmt.Errorf("output folder %s: %w", location, err)
	}
	return f, nil
}

// knownSchemes returns the registered schemes, sorted, or "none".
func knownSchemes() []string {
	schemes.RLock()
	defer schemes.RUnlock()
	if len(schemes.m) == 0 {
		return []string{"none"}
	}
	return slices.Sorted(maps.Keys(schemes.m))
}
