package postgres

import (
	"context"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5"
)

// A pooled connection whose server side ended while it sat idle (its
// backend terminated, the server restarted or failed over) still looks
// open to the pool, which would hand it out: the first statement on it
// then fails with 57P01 or end of file although it never ran. When a
// session ends, the server sends an error message (or just closes the
// socket), and an idle connection is never sent anything otherwise, so
// anything readable on it before a statement is sent means it is over.
// NewPool's pools check each connection they hand out this way
// (alivePrepareConn), with one non-blocking read of the socket, no round
// trip, and replace a dead one with a fresh connection. A connection
// whose server goes away after the check fails its statement, which the
// querier layer then reports as store.ErrUnavailable (conn.go).

// alivePrepareConn is a pgxpool PrepareConn hook that refuses a connection
// whose server side has ended (see above), then runs next, the hook the
// caller's configuration had, if any.
func alivePrepareConn(next func(context.Context, *pgx.Conn) (bool, error)) func(context.Context, *pgx.Conn) (bool, error) {
	return func(ctx context.Context, c *pgx.Conn) (bool, error) {
		if endedWhileIdle(c.PgConn().Conn()) {
			return false, nil // pgxpool destroys it and hands out another
		}
		if next == nil {
			return true, nil
		}
		return next(ctx, c)
	}
}

// endedWhileIdle reports whether anything can be read from c, an idle
// connection: the server's farewell, end of file, or a reset. It never
// waits; where the socket cannot be peeked at, it reports false.
func endedWhileIdle(c net.Conn) bool {
	if tc, ok := c.(interface{ NetConn() net.Conn }); ok { // *tls.Conn
		c = tc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	// Control, not Read: pgconn's background reader may be parked in a
	// Read of this socket (it starts one during a slow write and leaves it
	// pending), and Read would wait for it to finish. The peek neither
	// waits nor consumes anything.
	ended := false
	err = raw.Control(func(fd uintptr) { ended = peekEnded(fd) })
	return ended || err != nil
}
