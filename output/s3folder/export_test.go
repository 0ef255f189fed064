package s3folder

import "time"

// SetLeaseTiming sets the lease's time to live and renewal period until the
// returned function restores them.
func SetLeaseTiming(ttl, renew time.Duration) (restore func()) {
	oldTTL, oldRenew := leaseTTL, renewEvery
	leaseTTL, renewEvery = ttl, renew
	return func() { leaseTTL, renewEvery = oldTTL, oldRenew }
}
