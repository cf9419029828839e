package store

// CoalescerQueued returns how many calls wait in c's queues, not yet sent:
// the tests wait for it instead of sleeping.
func CoalescerQueued(c *Coalescer) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.finishes.waiting)
	for _, q := range c.claims {
		n += len(q.waiting)
	}
	return n
}
