// Package mailgw is the mail side of Trivial Tickets: mail in and mail out.
//
// Its sub-packages turn raw MIME messages into core.InboundMessage values
// (mailgw/parse) and outbox rows into RFC 5322 messages (mailgw/compose);
// the SMTP gateway, the IMAP poller and SMTP delivery of the outbox build on
// them. mailgw holds no domain rules: every decision about a message is made
// by core. It never renders HTML that came in by mail.
package mailgw
