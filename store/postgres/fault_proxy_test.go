package postgres_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// cutMode is when faultProxy cuts a connection around a COMMIT.
type cutMode int

const (
	// cutBeforeCommit swallows the COMMIT and closes both sides: the
	// server never sees it and rolls the transaction back.
	cutBeforeCommit cutMode = iota + 1
	// cutAfterCommit forwards the COMMIT, discards the server's reply up to
	// its ReadyForQuery (so the commit has completed) and then closes both
	// sides: the transaction committed, the client never hears it.
	cutAfterCommit
)

// protocolV3 is the version code of a PostgreSQL 3.0 startup message;
// SSLRequest, GSSENCRequest and CancelRequest carry other codes.
const protocolV3 = 3 << 16

// faultProxy is a TCP proxy between a pool and the server that can cut a
// connection at the moment a COMMIT goes through it. It reads the
// client's messages (after a plain startup message: the test URLs use
// sslmode=disable) and recognizes the simple Query message pgx sends for
// Commit. Other connections (cancel requests) are forwarded untouched.
type faultProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	armed cutMode               // the cut to apply to the next COMMIT, or 0
	cuts  []chan struct{}       // closed when the armed cut has been made
	conns map[net.Conn]struct{} // open connections, both sides
	wg    sync.WaitGroup
}

// newFaultProxy starts a proxy to the server of dbURL and returns it with
// the URL to connect through it. It stops when t ends, after the pools
// opened later (cleanups run last-in first-out).
func newFaultProxy(t *testing.T, dbURL string) (*faultProxy, string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, target: u.Host, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	u.Host = ln.Addr().String()
	return p, u.String()
}

// arm makes the proxy cut the connection that carries the next COMMIT, as
// mode says. The returned channel is closed once the cut is made.
func (p *faultProxy) arm(mode cutMode) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	done := make(chan struct{})
	p.armed = mode
	p.cuts = append(p.cuts, done)
	return done
}

// take consumes the armed cut, if any.
func (p *faultProxy) take() (cutMode, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.armed == 0 {
		return 0, nil
	}
	mode, done := p.armed, p.cuts[len(p.cuts)-1]
	p.armed = 0
	return mode, done
}

// track registers an open connection; false when the proxy is closing.
func (p *faultProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

// untrack closes and forgets connections.
func (p *faultProxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		_ = c.Close()
		delete(p.conns, c)
	}
}

// close stops accepting, closes every connection and waits for the
// proxy's goroutines.
func (p *faultProxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// accept serves connections until the listener closes.
func (p *faultProxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.serve(client) })
	}
}

// serve relays one client connection to a new server connection.
func (p *faultProxy) serve(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = client.Close()
		return
	}
	if !p.track(client) || !p.track(server) {
		p.untrack(client, server)
		return
	}
	defer p.untrack(client, server)
	startup, err := readStartup(client)
	if err != nil {
		return
	}
	if _, err := server.Write(startup); err != nil {
		return
	}
	if binary.BigEndian.Uint32(startup[4:8]) != protocolV3 {
		// A cancel request (or an encryption request, which the test
		// URLs never make): relay bytes as they are.
		p.wg.Go(func() { _, _ = io.Copy(client, server); p.untrack(client, server) })
		_, _ = io.Copy(server, client)
		return
	}
	// dropReplies is closed when a COMMIT was forwarded under
	// cutAfterCommit: from then on the server's replies are discarded.
	var cutDone chan struct{}
	dropReplies := make(chan struct{})
	p.wg.Go(func() {
		defer p.untrack(client, server)
		for {
			typ, msg, err := readMessage(server)
			if err != nil {
				return
			}
			select {
			case <-dropReplies:
				if typ == 'Z' { // ReadyForQuery: the COMMIT is done
					close(cutDone) // before the client can see the cut
					p.untrack(client, server)
					return
				}
				continue
			default:
			}
			if _, err := client.Write(msg); err != nil {
				return
			}
		}
	})
	for {
		typ, msg, err := readMessage(client)
		if err != nil {
			return
		}
		if typ == 'Q' && isCommit(msg[5:]) {
			switch mode, done := p.take(); mode {
			case cutBeforeCommit:
				close(done) // before the client can see the cut
				p.untrack(client, server)
				return
			case cutAfterCommit:
				cutDone = done
				close(dropReplies)
			}
		}
		if _, err := server.Write(msg); err != nil {
			return
		}
	}
}

// isCommit reports whether a simple Query message body is a COMMIT.
func isCommit(body []byte) bool {
	q := bytes.TrimSuffix(body, []byte{0})
	return bytes.EqualFold(bytes.TrimSpace(q), []byte("commit"))
}

// readStartup reads an untyped startup-phase message (length first).
func readStartup(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n < 8 || n > 1<<16 {
		return nil, errors.New("proxy: bad startup message length")
	}
	msg := make([]byte, n)
	copy(msg, hdr[:])
	_, err := io.ReadFull(r, msg[4:])
	return msg, err
}

// readMessage reads one typed protocol message and returns its type and
// all of its bytes.
func readMessage(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n < 4 || n > 1<<30 {
		return 0, nil, errors.New("proxy: bad message length")
	}
	msg := make([]byte, 1+n)
	copy(msg, hdr[:])
	_, err := io.ReadFull(r, msg[5:])
	return hdr[0], msg, err
}
