package mailapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// readBody reads the whole request body, at most limit bytes; more gives a
// 413 requestError.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if tooLarge(err) {
			return nil, tooLargeError(limit)
		}
		return nil, badRequest("reading the body failed: " + err.Error())
	}
	return b, nil
}

func tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

func tooLargeError(limit int64) error {
	return &requestError{status: http.StatusRequestEntityTooLarge,
		msg: fmt.Sprintf("the body is larger than the limit of %d bytes", limit)}
}

// decodeStrict decodes body, which must be one JSON object with exactly the
// string properties props, each once, and returns their values. Its errors
// are 400 requestErrors saying precisely what to fix. The object is walked
// token by token because encoding/json's Unmarshal would silently accept
// unknown, duplicate and (into a map) non-string properties.
func decodeStrict(body []byte, props ...string) (map[string]string, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, badRequest("invalid JSON: the body is empty; send a JSON object with the properties " + quoteList(props))
	}
	// First the syntax, so that the messages below can rely on it.
	var raw json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, badRequest(fmt.Sprintf("invalid JSON at byte %d: %s", se.Offset, se.Error()))
		}
		return nil, badRequest("invalid JSON: " + err.Error())
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return nil, badRequest("invalid JSON: " + err.Error())
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, badRequest("the body must be a JSON object with the properties " + quoteList(props))
	}
	vals := make(map[string]string, len(props))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, badRequest("invalid JSON: " + err.Error())
		}
		key, _ := tok.(string) // object keys are always strings
		if !slices.Contains(props, key) {
			return nil, badRequest(fmt.Sprintf("unknown property %q", key))
		}
		if _, dup := vals[key]; dup {
			return nil, badRequest(fmt.Sprintf("duplicate property %q", key))
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, badRequest("invalid JSON: " + err.Error())
		}
		if len(v) == 0 || v[0] != '"' {
			return nil, badRequest(fmt.Sprintf("property %q must be a string", key))
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, badRequest(fmt.Sprintf("property %q: invalid JSON string: %s", key, err.Error()))
		}
		vals[key] = s
	}
	for _, p := range props {
		if _, ok := vals[p]; !ok {
			return nil, badRequest(fmt.Sprintf("missing required property %q", p))
		}
	}
	return vals, nil
}

// quoteList writes props as "a", "b" and "c".
func quoteList(props []string) string {
	q := make([]string, len(props))
	for i, p := range props {
		q[i] = fmt.Sprintf("%q", p)
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}
