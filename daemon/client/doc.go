// Package client is the Go client of jaild's HTTP API v1: one method per
// route of daemon/api, over the daemon's Unix socket (New) or its optional
// loopback TCP listener (NewTCP).
//
// It owns the transport side of the contract: dialing, encoding requests,
// decoding size-capped responses, reading NDJSON run streams, and turning
// every non-2xx response into an *Error that callers branch on with
// IsQueueFull, IsNotFound, IsForbidden, IsInvalid and IsUnavailable. The
// wire types themselves live in daemon/api; this package imports nothing
// else of ours.
//
// Cancelling the context of a call closes its connection. The daemon takes
// that as the caller going away and kills the run's jail, so a cancelled
// Run or RunStream does not leave a script running.
package client
