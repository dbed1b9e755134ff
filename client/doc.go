// Package client is the Go client of ixnstore, for routing nodes, media adapters and tools.
//
// A Client has every route of the API as a typed call with a context (the generated
// ClientWithResponses: one method per operationId of the API document, answers in JSON200,
// JSON201 or JSON202). Every refusal, and every call that got no answer, is an *Error with
// the status, code, reason and message; branch on its kind with errors.Is (ErrNotFound,
// ErrLeaseLost, ErrInvalidTransition, ErrRequestRefused, ErrUnavailable,
// ErrOutcomeUnknown, ...).
//
// On top of the calls:
//
//   - Node is a routing node: Register, Heartbeats (within the lease; it returns, and Lost
//     closes, when the lease is lost), CreateSession, Claim, Release, Leave. The node's calls
//     carry the lease epoch of each session it holds as X-Lease-Epoch without being asked, and
//     once the lease is lost every write fails at once with ErrLeaseLost.
//   - Events follows /v1/events/stream with filters, from a cursor, reconnecting with backoff
//     and jitter and dropping repeats by event id: each event once, in order, across
//     reconnections and server restarts.
//   - Adapter is the media side: it follows the pending action requests the same way and
//     answers their outcomes.
//   - Every event's data is typed by its name: Event.Typed (and PublishedEvent.Typed) gives
//     an InteractionAddedEvent, InteractionPartyStateChangedEvent, ... whose Data has the
//     Genesys attributes as fields.
//
// The generated half (openapi.gen.go) comes from api/openapi.yaml by `go generate ./client`
// (oapi-codegen, pinned as a Go tool); a test fails when it is not current. The package speaks
// HTTP only: it imports nothing of the server.
//
// The examples run against a server: serverURL and token stand for yours (the admin token
// the first start prints, or one made by `ixnstore token create`).
package client
