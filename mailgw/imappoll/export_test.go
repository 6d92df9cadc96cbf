package imappoll

// SetNoIdle makes p behave as if the server lacked IDLE, so that tests can
// drive the polling path; call it before Run.
func SetNoIdle(p *Poller) { p.noIdle = true }
