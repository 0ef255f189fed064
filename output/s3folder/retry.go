package s3folder

import (
	"errors"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// retryCutAnswers is a retryer that also retries a call whose answer was
// cut off while the SDK decoded it (a connection reset or a proxy timing
// out mid-body): the SDK's standard retryer retries only failures before
// the answer's headers. The calls that this makes retried after they took
// effect are handled where they are made: a CompleteMultipartUpload
// retried after it completed ([upload.completedBefore]), a
// CreateMultipartUpload that opened an upload nobody uses (aborted when
// its file ends), and conditional puts ([Folder.holds]); lists, heads and
// deletes are idempotent.
type retryCutAnswers struct{ aws.RetryerV2 }

// IsErrorRetryable adds cut answers to the retryer's retryable errors.
func (r retryCutAnswers) IsErrorRetryable(err error) bool {
	return answerCut(err) || r.RetryerV2.IsErrorRetryable(err)
}

// answerCut reports whether err is an answer whose body ended early.
func answerCut(err error) bool {
	var de *smithy.DeserializationError
	return errors.As(err, &de) && (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF))
}

// withCutRetries returns client with its retryer extended by
// [retryCutAnswers]; a nil client, or one whose retryer is not an
// [aws.RetryerV2], is returned as it is.
func withCutRetries(client *s3.Client) *s3.Client {
	if client == nil {
		return nil
	}
	o := client.Options()
	r, ok := o.Retryer.(aws.RetryerV2)
	if !ok {
		return client
	}
	if _, done := r.(retryCutAnswers); done {
		return client
	}
	o.Retryer = retryCutAnswers{r}
	return s3.New(o)
}

// retried reports whether the call whose result metadata is md took more
// than one attempt.
func retried(md middleware.Metadata) bool {
	res, ok := retry.GetAttemptResults(md)
	return ok && len(res.Results) > 1
}
