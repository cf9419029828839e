package fleet_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ocpctl/ocpstore/internal/fleet"
	"github.com/ocpctl/ocpstore/store"
)

// TestClassify pins how the fleet treats each failure a failover
// produces: the store's sentinels (the PostgreSQL backend classifies the
// raw connection and SQLSTATE errors into them; store/postgres's
// unavailable tests cover that), and anything else as unexpected.
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
		{"a unique violation is not a failover", pg("23505"), fleet.ClassUnexpected},
		{"a refusal is not a failover", fmt.Errorf("claim: %w", store.ErrInvalidArgument), fleet.ClassUnexpected},
		{"anything else", errors.New("boom"), fleet.ClassUnexpected},
	} {
		if got := fleet.Classify(tc.err); got != tc.want {
			t.Errorf("%s: Classify(%v) = %s, want %s", tc.name, tc.err, got, tc.want)
		}
	}
}
