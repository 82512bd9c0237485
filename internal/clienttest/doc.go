// Package clienttest holds the tests of package client that need a real
// Refreshing: the Service on SQLite behind internal/server, on a real
// listener. They live in the server's module so that client/, a module of
// its own, requires nothing of the server's (client/modgraph_test.go checks
// that); client/'s own tests need only the standard library.
package clienttest
