package postgres

import (
	"net/url"
	"strings"
)

// setsPoolSize reports whether the connection string sets pool_max_conns,
// as a URL query parameter or as a key=value keyword.
func setsPoolSize(conn string) bool {
	if u, err := url.Parse(conn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		return u.Query().Has("pool_max_conns")
	}
	for _, f := range strings.Fields(conn) {
		if strings.HasPrefix(f, "pool_max_conns=") {
			return true
		}
	}
	return false
}
