package s3folder

import (
	"errors"
	"io/fs"
	"net/http"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// ErrNoSuchBucket is wrapped by the error of a call on a bucket that does
// not exist (an S3 NoSuchBucket). A HEAD cannot tell a missing bucket from
// a missing key: Stat and Size of a name in a missing bucket report
// [fs.ErrNotExist].
var ErrNoSuchBucket = errors.New("no such bucket")

// classified is an SDK error that also matches the sentinel callers branch
// on ([fs.ErrNotExist], [fs.ErrPermission], [ErrConditionFailed],
// [ErrNoSuchBucket]); the SDK error stays reachable with errors.As.
type classified struct {
	sentinel error
	err      error
}

func (c *classified) Error() string        { return c.err.Error() }
func (c *classified) Unwrap() error        { return c.err }
func (c *classified) Is(target error) bool { return target == c.sentinel }

// wrap returns err (nil for nil) as an [fs.PathError] naming op and name's
// URL, classified by its S3 error code or HTTP status.
func (f *Folder) wrap(op, name string, err error) error {
	if err == nil {
		return nil
	}
	if s := sentinelOf(err); s != nil {
		err = &classified{sentinel: s, err: err}
	}
	return &fs.PathError{Op: op, Path: f.Path(name), Err: err}
}

// sentinelOf returns the sentinel an SDK error matches, or nil.
func sentinelOf(err error) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return fs.ErrNotExist
		case "NoSuchBucket":
			return ErrNoSuchBucket
		case "PreconditionFailed", "ConditionalRequestConflict":
			return ErrConditionFailed
		case "AccessDenied", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch":
			return fs.ErrPermission
		}
	}
	var resp *smithyhttp.ResponseError
	if errors.As(err, &resp) {
		switch resp.HTTPStatusCode() {
		case http.StatusNotFound:
			return fs.ErrNotExist
		case http.StatusPreconditionFailed:
			return ErrConditionFailed
		case http.StatusForbidden:
			return fs.ErrPermission
		}
	}
	return nil
}
