package mailapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"trivialtickets/webui/mailapi/wire"
)

// TestLimitInFlight: with 2 requests held inside, a third waits for its
// turn and, when none comes within the wait, gets 503 with Retry-After and a
// JSON error; once one finishes, the next is served.
func TestLimitInFlight(t *testing.T) {
	hold := make(chan struct{})
	var inside sync.WaitGroup
	inside.Add(2)
	h := LimitInFlight(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("hold") != "" {
			inside.Done()
			<-hold
		}
		w.WriteHeader(http.StatusOK)
	}), 2, time.Second)
	srv := httptest.NewServer(h)
	defer srv.Close()

	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			resp, err := http.Post(srv.URL+"/api/receive?hold=1", "application/json", largeBody())
			if err == nil {
				resp.Body.Close()
			}
		})
	}
	inside.Wait()
	resp, err := http.Post(srv.URL+"/api/receive", "application/json", largeBody())
	if err != nil {
		t.Fatal(err)
	}
	var e wire.ErrorResponse
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" || e.Status != 503 || !strings.Contains(e.Message, "try again") {
		t.Errorf("third request: %s, Retry-After %q, %+v; want 503, 1 and a message", resp.Status, resp.Header.Get("Retry-After"), e)
	}
	close(hold)
	wg.Wait()
	resp, err = http.Post(srv.URL+"/api/receive", "application/json", largeBody())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after the others finished: %s", resp.Status)
	}
}

// TestLimitInFlightWaits: a request past the limit is not refused while a
// turn frees within the wait; it is served as soon as one request finishes.
func TestLimitInFlightWaits(t *testing.T) {
	hold := make(chan struct{})
	inside := make(chan struct{}, 1)
	h := LimitInFlight(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("hold") != "" {
			inside <- struct{}{}
			<-hold
		}
		w.WriteHeader(http.StatusOK)
	}), 1, 30*time.Second)
	srv := httptest.NewServer(h)
	defer srv.Close()

	var wg sync.WaitGroup
	wg.Go(func() {
		resp, err := http.Post(srv.URL+"/api/receive?hold=1", "application/json", largeBody())
		if err == nil {
			resp.Body.Close()
		}
	})
	<-inside
	go func() {
		time.Sleep(100 * time.Millisecond)
		close(hold)
	}()
	resp, err := http.Post(srv.URL+"/api/receive", "application/json", largeBody())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("second request while the first finishes: %s, want 200 after the wait", resp.Status)
	}
	wg.Wait()
}

// largeBody is a request body too large for the small requests' turns.
func largeBody() *strings.Reader {
	return strings.NewReader("{}" + strings.Repeat(" ", smallBody))
}

// TestLimitInFlightSmallRequests: while large requests hold every turn,
// small ones are served at once from turns of their own.
func TestLimitInFlightSmallRequests(t *testing.T) {
	hold := make(chan struct{})
	inside := make(chan struct{}, 1)
	h := LimitInFlight(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("hold") != "" {
			inside <- struct{}{}
			<-hold
		}
		w.WriteHeader(http.StatusOK)
	}), 1, time.Second)
	srv := httptest.NewServer(h)
	defer srv.Close()
	var wg sync.WaitGroup
	wg.Go(func() {
		resp, err := http.Post(srv.URL+"/api/receive?hold=1", "application/json", largeBody())
		if err == nil {
			resp.Body.Close()
		}
	})
	<-inside
	for i := range 3 {
		resp, err := http.Post(srv.URL+"/api/receive", "application/json", strings.NewReader(`{"from":"a@example.com"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("small request %d while a large one holds the turn: %s, want 200", i, resp.Status)
		}
	}
	close(hold)
	wg.Wait()
}
