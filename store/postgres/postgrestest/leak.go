package postgrestest

import (
	"os"

	"go.uber.org/goleak"
)

// LeakOptions returns the goleak options for the TestMain of a package whose
// tests use New, to pass to goleak.VerifyTestMain:
//
//	func TestMain(m *testing.M) {
//		goleak.VerifyTestMain(m, postgrestest.LeakOptions()...)
//	}
//
// With EnvURL set there are none: every goroutine the tests start must be
// gone when they end. Without it, New may start a container, and
// testcontainers-go keeps two kinds of goroutines for the rest of the
// process by design, which goleak must not report:
//   - the connection to its reaper (Ryuk), held open so that the reaper
//     removes the container only once the test process has exited
//     ((*Reaper).connect's goroutine, parked until the process ends);
//   - the keep-alive connections of its Docker API client (net/http's
//     persistConn loops), which live as long as the container's client.
func LeakOptions() []goleak.Option {
	if os.Getenv(EnvURL) != "" {
		return nil
	}
	return []goleak.Option{
		goleak.IgnoreAnyFunction("github.com/testcontainers/testcontainers-go.(*Reaper).connect.func1"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	}
}
