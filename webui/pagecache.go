package webui

import (
	"container/list"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"trivialtickets/core"
)

// The customer's ticket page is cached, rendered, under the ticket's
// version: a number the database raises in the same transaction as every
// change of the ticket's row, entries or attachments (migration 0011, in
// every store, by triggers), whichever daemon or tool makes it. A request
// reads the current version (one statement) and sends the cached bytes
// when they were rendered from a view read at that same version; the view
// reads its version in its own transaction, so the bytes are exactly that
// version's page. What else goes into the page is fixed for the daemon's
// life (the support addresses and mailbox names, the customers' time zone)
// or kept in the entry: the zone's name, and the instant at which one of
// the page's relative times ("5 min ago") would read differently.
//
// Only the plain customer's page is cached: GET without an agent's
// session, no flash message, no refilled form, status 200, and not a
// merged ticket.

// Bounds of the cache of customers' ticket pages: the least recently used
// page goes first when either is exceeded. Pages above maxCachedPage are
// not kept.
const (
	maxCachedPages     = 4096
	maxCachedPageBytes = 32 << 20
	maxCachedPage      = 1 << 20
)

// pageCache holds rendered customers' ticket pages, one per ticket, least
// recently used first out. It is safe for concurrent use.
type pageCache struct {
	mu         sync.Mutex
	maxEntries int
	maxBytes   int
	bytes      int
	lru        list.List // of *cachedPage, most recently used at the front
	byID       map[string]*list.Element
	// hits and misses count the answers of get.
	hits, misses atomic.Int64
}

// cachedPage is one rendered page and what it is valid for.
type cachedPage struct {
	id      string
	version int64
	zone    string
	// until is when a relative time on the page changes; zero: never.
	until time.Time
	body  []byte
}

func newPageCache(maxEntries, maxBytes int) *pageCache {
	return &pageCache{maxEntries: maxEntries, maxBytes: maxBytes, byID: make(map[string]*list.Element)}
}

// get returns the page of ticket id rendered at version for zone, if it
// is still the page at now.
func (c *pageCache) get(id string, version int64, zone string, now time.Time) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byID[id]
	if !ok {
		c.misses.Add(1)
		return nil, false
	}
	p := el.Value.(*cachedPage)
	if p.version != version || p.zone != zone || (!p.until.IsZero() && !now.Before(p.until)) {
		c.misses.Add(1)
		return nil, false
	}
	c.lru.MoveToFront(el)
	c.hits.Add(1)
	return p.body, true
}

// put keeps p, replacing the ticket's page before, and drops the least
// recently used pages beyond the bounds.
func (c *pageCache) put(p *cachedPage) {
	if len(p.body) > maxCachedPage || len(p.body) > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.remove(p.id)
	c.byID[p.id] = c.lru.PushFront(p)
	c.bytes += len(p.body)
	for c.lru.Len() > c.maxEntries || c.bytes > c.maxBytes {
		c.remove(c.lru.Back().Value.(*cachedPage).id)
	}
}

// drop forgets the page of ticket id.
func (c *pageCache) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.remove(id)
}

// remove forgets the page of ticket id; c.mu is held.
func (c *pageCache) remove(id string) {
	el, ok := c.byID[id]
	if !ok {
		return
	}
	c.bytes -= len(el.Value.(*cachedPage).body)
	c.lru.Remove(el)
	delete(c.byID, id)
}

// size returns the number of pages and their bytes.
func (c *pageCache) size() (pages, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.bytes
}

// cacheableRequest reports whether r asks for the plain customer's page:
// GET, no agent's session and no flash message to show.
func cacheableRequest(r *http.Request) bool {
	if r.Method != http.MethodGet || currentAgent(r) != nil {
		return false
	}
	_, err := r.Cookie(flashCookie)
	return errors.Is(err, http.ErrNoCookie)
}

// cachedTicket returns the cached customer's page of ticket id when it is
// the page of the ticket's current version. A ticket that is gone has its
// page dropped (the normal path then answers "No such ticket").
func (h *handler) cachedTicket(r *http.Request, id string) ([]byte, bool) {
	v, err := h.svc.TicketVersion(r.Context(), id)
	if err != nil {
		if errors.Is(err, core.ErrNotFound) {
			h.pages.drop(id)
		}
		return nil, false
	}
	c := h.clock(r)
	body, ok := h.pages.get(id, v, c.Zone(), c.Now)
	if h.observeCache != nil {
		h.observeCache(ok)
	}
	return body, ok
}

// renderCachedTicket renders the customer's page p of the ticket at
// version, keeps it in the cache and writes it.
func (h *handler) renderCachedTicket(w http.ResponseWriter, r *http.Request, p *ticketPage, version int64) {
	cp := &cachedPage{id: p.Ticket.ID, version: version, zone: p.Clock.Zone()}
	p.Clock.until = &cp.until
	pg := page{}
	h.prepare(w, r, &pg)
	err := renderPage(r.Context(), pg, ticketTitle(p), ticketContent(p), func(body []byte) {
		cp.body = append([]byte(nil), body...)
		h.pages.put(cp)
		writeBody(w, http.StatusOK, body)
	})
	if err != nil {
		h.internalError(w, r, err)
	}
}
