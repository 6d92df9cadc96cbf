//go:build race

package parse

// raceEnabled: the race detector multiplies allocations, so the memory
// bounds of the hostile-input tests are not checked under it.
const raceEnabled = true
