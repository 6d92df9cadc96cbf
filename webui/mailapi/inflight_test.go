package mailapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"trivialtickets/webui/mailapi/wire"
)

// heldServer serves LimitInFlight over a handler that answers 200, and
// that first holds a request with ?hold=1 until hold is closed.
type heldServer struct {
	*httptest.Server
	hold   chan struct{} // closed to let the held requests finish
	inside chan struct{} // one value per held request inside the handler
	held   sync.WaitGroup
}

func startHeld(t *testing.T, limit int, wait time.Duration) *heldServer {
	s := &heldServer{hold: make(chan struct{}), inside: make(chan struct{}, 16)}
	s.Server = httptest.NewServer(LimitInFlight(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("hold") != "" {
			s.inside <- struct{}{}
			<-s.hold
		}
		w.WriteHeader(http.StatusOK)
	}), limit, wait))
	t.Cleanup(s.Close)
	return s
}

// holdLarge sends n large requests that the handler holds, and returns
// once all n are inside.
func (s *heldServer) holdLarge(n int) {
	for range n {
		s.held.Go(func() {
			resp, err := http.Post(s.URL+"/api/receive?hold=1", "application/json", largeBody())
			if err == nil {
				resp.Body.Close()
			}
		})
	}
	for range n {
		<-s.inside
	}
}

// release lets the held requests finish and waits until they have.
func (s *heldServer) release() {
	close(s.hold)
	s.held.Wait()
}

// post posts body to /api/receive and returns the response, its body
// read and closed and, where it is one, its JSON error.
func (s *heldServer) post(t *testing.T, body io.Reader) (*http.Response, wire.ErrorResponse) {
	t.Helper()
	resp, err := http.Post(s.URL+"/api/receive", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e wire.ErrorResponse
	json.NewDecoder(resp.Body).Decode(&e)
	return resp, e
}

// TestLimitInFlight: with 2 requests held inside, a third waits for its
// turn and, when none comes within the wait, gets 503 with Retry-After and a
// JSON error; once one finishes, the next is served.
func TestLimitInFlight(t *testing.T) {
	s := startHeld(t, 2, time.Second)
	s.holdLarge(2)
	resp, e := s.post(t, largeBody())
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" || e.Status != 503 || !strings.Contains(e.Message, "try again") {
		t.Errorf("third request: %s, Retry-After %q, %+v; want 503, 1 and a message", resp.Status, resp.Header.Get("Retry-After"), e)
	}
	s.release()
	if resp, _ := s.post(t, largeBody()); resp.StatusCode != http.StatusOK {
		t.Errorf("after the others finished: %s", resp.Status)
	}
}

// TestLimitInFlightWaits: a request past the limit is not refused while a
// turn frees within the wait; it is served as soon as one request finishes.
func TestLimitInFlightWaits(t *testing.T) {
	s := startHeld(t, 1, 30*time.Second)
	s.holdLarge(1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		s.release()
	}()
	if resp, _ := s.post(t, largeBody()); resp.StatusCode != http.StatusOK {
		t.Errorf("second request while the first finishes: %s, want 200 after the wait", resp.Status)
	}
	s.held.Wait()
}

// largeBody is a request body too large for the small requests' turns.
func largeBody() *strings.Reader {
	return strings.NewReader("{}" + strings.Repeat(" ", smallBody))
}

// TestLimitInFlightSmallRequests: while large requests hold every turn,
// small ones are served at once from turns of their own.
func TestLimitInFlightSmallRequests(t *testing.T) {
	s := startHeld(t, 1, time.Second)
	s.holdLarge(1)
	for i := range 3 {
		if resp, _ := s.post(t, strings.NewReader(`{"from":"a@example.com"}`)); resp.StatusCode != http.StatusOK {
			t.Errorf("small request %d while a large one holds the turn: %s, want 200", i, resp.Status)
		}
	}
	s.release()
}
