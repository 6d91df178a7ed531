// Package api holds jaild's wire types and constants for API v1: the
// request and result bodies, error codes and paths shared by the daemon and
// its clients. It imports only the standard library.
package api
