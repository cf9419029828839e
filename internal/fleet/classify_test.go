package fleet_test

import (
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ocpctl/ocpstore/internal/fleet"
	"github.com/ocpctl/ocpstore/store"
)

// TestClassify pins how the fleet treats each failure a failover
// produces: the store's sentinels, and (until the backend classifies
// them) the raw pgx errors seen in the failover test.
func TestClassify(t *testing.T) {
	t.Parallel()
	pg := func(code string) error {
		return fmt.Errorf("claim: %w", &pgconn.PgError{Severity: "FATAL", Code: code})
	}
	for _, tc := range []struct {
		name string
		err  error
		want fleet.Class
	}{
		{"commit outcome unknown", fmt.Errorf("finish: commit: %w: conn closed", store.ErrCommitUnknown), fleet.ClassUnknown},
		{"unavailable and unknown", fmt.Errorf("%w: %w", store.ErrUnavailable, store.ErrCommitUnknown), fleet.ClassUnknown},
		{"unavailable", fmt.Errorf("claim: begin: %w", store.ErrUnavailable), fleet.ClassUnavailable},
		{"connect failed on every host", fmt.Errorf("begin: %w", &pgconn.ConnectError{}), fleet.ClassUnavailable},
		{"57P03 cannot connect now", pg("57P03"), fleet.ClassUnavailable},
		{"25006 read-only (a demoted server)", pg("25006"), fleet.ClassUnavailable},
		{"57P01 admin shutdown", pg("57P01"), fleet.ClassUnknown},
		{"57P02 crash shutdown", pg("57P02"), fleet.ClassUnknown},
		{"conn closed", fmt.Errorf("extend: %w", pgconn.ErrConnClosed), fleet.ClassUnknown},
		{"unexpected EOF", fmt.Errorf("list: %w", io.ErrUnexpectedEOF), fleet.ClassUnknown},
		{"connection reset", fmt.Errorf("list: %w", syscall.ECONNRESET), fleet.ClassUnknown},
		{"a unique violation is not a failover", pg("23505"), fleet.ClassUnexpected},
		{"a refusal is not a failover", fmt.Errorf("claim: %w", store.ErrInvalidArgument), fleet.ClassUnexpected},
		{"anything else", errors.New("boom"), fleet.ClassUnexpected},
	} {
		if got := fleet.Classify(tc.err); got != tc.want {
			t.Errorf("%s: Classify(%v) = %s, want %s", tc.name, tc.err, got, tc.want)
		}
	}
}
