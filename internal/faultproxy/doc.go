// Package faultproxy is an HTTP proxy for tests that injects the faults an
// object store and the network between show: 503 SlowDown answers,
// connections reset before the answer, answers whose body is cut off
// half-way, and slow answers. Put it in front of a test S3 server
// (internal/s3test) and point the client at [Proxy.URL]: a correct client
// gives the same results through it as without it.
//
// Faults are drawn per request from a seeded generator, so a failing test
// replays. Requests keep their Host header, so that SigV4 signatures made
// for the proxy's address verify at the server.
package faultproxy
