// Package mailapi is the HTTP Mail API of Trivial Tickets
// (shared/spec/mail-api.md): POST /api/receive lets a mail service hand in a
// customer message, GET /api/fetchMails lists the outgoing mails waiting to
// be sent and POST /api/verifyMail confirms one of them as sent.
//
// The request and response types, paths and content types are in the leaf
// package mailapi/wire, which the server (New) and the Go client in package
// mailapi/client both import, so that a client needs nothing of the server.
//
// The handler only translates HTTP to core calls and core errors to JSON
// answers. Every rule about tickets lives in core; this package never writes
// to the store itself and never shows internal entries (core queues no
// internal content in the outbox).
package mailapi
