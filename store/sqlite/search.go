package sqlite

import (
	"database/sql/driver"
	"fmt"
	"strings"

	"modernc.org/sqlite"

	"trivialtickets/core"
)

// searchTextFunc is the SQL name of core.SearchText, which the triggers of
// the search index call (migration 0007).
const searchTextFunc = "tt_search_text"

func init() {
	err := sqlite.RegisterDeterministicScalarFunction(searchTextFunc, 1,
		func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			switch v := args[0].(type) {
			case nil:
				return "", nil
			case string:
				return core.SearchText(v), nil
			case []byte:
				return core.SearchText(string(v)), nil
			default:
				return core.SearchText(fmt.Sprint(v)), nil
			}
		})
	if err != nil {
		panic(fmt.Sprintf("sqlite: register %s: %v", searchTextFunc, err))
	}
}

// matchExpr is the FTS5 query of a search: every word of it (as the index
// sees words) as a quoted string, so that all must match and no word is
// read as an operator.
func matchExpr(search string) string {
	words := core.QueryWords(search)
	if len(words) == 0 {
		// A query without words (only punctuation) matches nothing.
		return `""`
	}
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(`"` + strings.ReplaceAll(w, `"`, `""`) + `"`)
	}
	return b.String()
}
