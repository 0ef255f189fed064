//go:build !darwin

package apple

func sysctl(string) (string, error) { return "", ErrNotMac }
