// Package s3test starts a real S3 server for tests: versitygw (pinned to
// [Version]) serving a temporary folder on a loopback port, built from the Go
// module proxy once per machine into
// ${XDG_CACHE_HOME:-~/.cache}/pipe/versitygw/VERSION/.
//
// The server keeps object metadata in user.* extended attributes, or in a
// sidecar folder where the temporary folder's filesystem refuses them
// (PIPE_TEST_S3_SIDECAR=1 forces the sidecar, to test that set-up).
//
// A test that calls [Start] fails, saying why, when the server cannot be
// built or started; with PIPE_TEST_NO_S3=1 in the environment it is skipped
// instead, saying so.
package s3test
