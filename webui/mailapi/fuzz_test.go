package mailapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"trivialtickets/core"
	"trivialtickets/webui/mailapi/wire"
)

// FuzzReceiveJSON feeds arbitrary bodies to POST /api/receive: the handler
// never panics, never answers 500, always answers JSON with a matching
// status, and answers 200 only for a body that is a valid ReceiveRequest.
func FuzzReceiveJSON(f *testing.F) {
	for _, s := range []string{
		validBody,
		`{"from":"a@example.com","message":"m"}`,
		`{"from":1,"subject":"s","message":"m"}`,
		`{"from":"a@example.com","subject":"s","message":"m","cc":"b@example.com"}`,
		`{"from":"x@","subject":"s","message":"m"}`,
		`{"from":"a@example.com","from":"a@example.com","subject":"s","message":"m"}`,
		`{"from":"a@example.com","subject":"[Ticket \"aaaaaaaaaaaaaaaa\"] x","message":"\u0000"}`,
		`{"from":"a@[127.0.0.1]","subject":"\ud800","message":"m"}`,
		`{"from":"a@example.com","subject":"s","message":"m"} `,
		`[]`, `null`, `{`, `"`, ``, `{"":""}`,
	} {
		f.Add([]byte(s))
	}
	h, _, _ := newAPI(f, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, wire.PathReceive, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusInternalServerError {
			t.Fatalf("500 for %q: %s", body, rec.Body)
		}
		var e struct {
			Status  int    `json:"status"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Status != rec.Code || e.Message == "" {
			t.Fatalf("answer %d %q for %q is not the JSON status object", rec.Code, rec.Body, body)
		}
		valid := validReceiveBody(body)
		switch {
		case rec.Code == http.StatusOK && !valid:
			t.Fatalf("200 for invalid body %q", body)
		case rec.Code != http.StatusOK && valid:
			t.Fatalf("%d %q for valid body %q", rec.Code, e.Message, body)
		case rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}

// validReceiveBody is an independent oracle: one JSON object with exactly
// the three string properties, each once, non-blank, and a valid address.
func validReceiveBody(body []byte) bool {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || len(m) != 3 {
		return false
	}
	for _, k := range []string{"from", "subject", "message"} {
		s, ok := m[k].(string)
		if !ok || strings.TrimSpace(s) == "" {
			return false
		}
	}
	if _, err := core.ParseAddress(m["from"].(string)); err != nil {
		return false
	}
	// Unmarshal keeps the last of duplicate keys; count them.
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.Token()
	keys := 0
	for dec.More() {
		dec.Token()
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return false
		}
		keys++
	}
	return keys == 3
}
