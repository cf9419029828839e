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
// With EnvURL set, or no Fallback registered, there are none: every
// goroutine the tests start must be gone when they end. Otherwise New may
// start a server through the Fallback, whose client may keep goroutines for
// the rest of the process by design (pgcontainer's testcontainers-go keeps
// its connection to the reaper that removes the container once the process
// has exited); the Fallback's LeakOptions name them.
func LeakOptions() []goleak.Option {
	fb := registered()
	if os.Getenv(EnvURL) != "" || fb == nil {
		return nil
	}
	return fb.LeakOptions
}
