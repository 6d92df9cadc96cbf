package main

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
)

// setSocketAccess gives the unix socket at path the mode and, when group is
// set, that group (a name or a number), so that a local MTA running as
// another user (Postfix's lmtp client) may connect: connecting to a unix
// socket needs write permission on it. The daemon is re-creating the socket
// at every start, so the settings, not a manual chmod, decide.
func setSocketAccess(path string, mode os.FileMode, group string) error {
	if group != "" {
		gid, err := strconv.Atoi(group)
		if err != nil {
			g, lerr := user.LookupGroup(group)
			if lerr != nil {
				return fmt.Errorf("setting lmtp-socket-group: %w", lerr)
			}
			if gid, err = strconv.Atoi(g.Gid); err != nil {
				return fmt.Errorf("setting lmtp-socket-group: group %s has gid %q: %w", group, g.Gid, err)
			}
		}
		if err := os.Chown(path, -1, gid); err != nil {
			return fmt.Errorf("setting lmtp-socket-group: give %s to group %s (the daemon's user must be a member): %w", path, group, err)
		}
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("setting lmtp-socket-mode: %w", err)
	}
	return nil
}
