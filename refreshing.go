// Package refreshing is the domain of the Refreshing service: users, sessions
// (one sign-in on one device, carried by a rotating refresh token), runtime
// settings, the Store that persists them and the Service that enforces every
// rule of the contract in docs/api.md.
//
// The package knows nothing of HTTP or SQL. Stores (internal/sqlite,
// internal/postgres) are atomic and dumb: they never decide expiry, reuse or
// permissions; the Service does. The HTTP surface lives in internal/server.
package refreshing
