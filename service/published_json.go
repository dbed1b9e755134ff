package service

import (
	"encoding/json"
	"strconv"
	"time"
)

// AppendJSON appends e as encoding/json would marshal it (a test holds the two equal): what
// the event streams send and the NATS bridge publishes. Written by hand, not with
// encoding/json: the attributes are already JSON from PostgreSQL, and re-validating them for
// every event was most of a stream's cost.
func (e PublishedEvent) AppendJSON(b []byte) []byte {
	b = append(b, `{"pub_seq":`...)
	b = strconv.AppendInt(b, e.PubSeq, 10)
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, e.ID, 10)
	b = append(b, `,"session_id":`...)
	b = appendJSONString(b, e.SessionID)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, e.Name)
	b = append(b, `,"data":`...)
	b = append(b, e.Data...) // a JSON object, as PostgreSQL wrote it (jsonb)
	if e.NodeID != nil {
		b = append(b, `,"node_id":`...)
		b = appendJSONString(b, *e.NodeID)
	}
	b = append(b, `,"epoch":`...)
	b = strconv.AppendInt(b, e.Epoch, 10)
	b = append(b, `,"created_at":"`...)
	b = e.CreatedAt.AppendFormat(b, time.RFC3339Nano)
	return append(b, `"}`...)
}

// appendJSONString quotes s; identifiers and event names are plain ASCII and are copied, any
// other string goes through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
