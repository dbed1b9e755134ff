package api_test

import (
	"net/http"
	"testing"
)

// A strategy's reading of an interaction over HTTP: Composer's entry blocks read voice.ani,
// voice.dnis and voice.callid first. A derived field given by the caller is refused (the
// decoder knows no such field), and nothing is written.
func TestGenesysViewOverHTTP(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	c.ok("POST", "/v1/sessions", `{"session_id":"s1"}`, http.StatusCreated)
	c.ok("POST", "/v1/sessions/s1/interactions", `{"interaction_id":"call-1","media":"voice","type":"inbound",
		"genesys":{"g_uid":"G1","voice":{"callid":"C1","ani":"+15550001","dnis":"8000"}}}`, http.StatusCreated)

	var ix struct {
		Genesys struct {
			GUID     string `json:"g_uid"`
			Category string `json:"category"`
			Voice    struct {
				CallID, ANI, DNIS, Type, Media string
			} `json:"voice"`
		} `json:"genesys"`
	}
	if code := c.json("GET", "/v1/sessions/s1/interactions/call-1", "", &ix); code != http.StatusOK {
		t.Fatalf("GET: %d", code)
	}
	g := ix.Genesys
	if g.GUID != "G1" || g.Category != "voice" || g.Voice.CallID != "C1" || g.Voice.ANI != "+15550001" ||
		g.Voice.DNIS != "8000" || g.Voice.Type != "inbound" || g.Voice.Media != "TMediaVoice" {
		t.Fatalf("genesys view %+v", g)
	}

	// The media side learns the DNIS later.
	c.ok("PATCH", "/v1/sessions/s1/interactions/call-1/genesys", `{"voice":{"dnis":"8001"}}`, http.StatusOK)
	if code := c.json("GET", "/v1/sessions/s1/interactions/call-1", "", &ix); code != http.StatusOK ||
		ix.Genesys.Voice.DNIS != "8001" || ix.Genesys.Voice.ANI != "+15550001" {
		t.Fatalf("after PATCH: %d %+v", code, ix.Genesys)
	}

	before := c.counts()
	for _, body := range []string{
		`{"interaction_id":"call-2","media":"voice","type":"inbound","genesys":{"category":"voice"}}`,
		`{"interaction_id":"call-2","media":"voice","type":"inbound","genesys":{"voice":{"type":"inbound"}}}`,
		`{"interaction_id":"chat-2","media":"chat","type":"inbound","genesys":{"voice":{"ani":"1"}}}`,
	} {
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		if code := c.json("POST", "/v1/sessions/s1/interactions", body, &e); code/100 != 4 || e.Error.Code == "" {
			t.Errorf("%s: %d %+v, want a 4xx with an error code", body, code, e)
		}
	}
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	if code := c.json("PATCH", "/v1/sessions/s1/interactions/call-1/genesys", `{"msgbased":{"queue":"q"}}`, &e); code != http.StatusUnprocessableEntity || e.Error.Code != "invalid_value" {
		t.Errorf("msgbased on a call: %d %+v, want 422 invalid_value", code, e)
	}
	if after := c.counts(); after != before {
		t.Errorf("rows changed: %+v → %+v", before, after)
	}
}
