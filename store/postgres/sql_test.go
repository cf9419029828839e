package postgres

import (
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestNamed checks named's compilation: one $n per name however often it
// is used, in order of first use, with quoted text and operators that
// start with @ left alone, and args in $n order.
func TestNamed(t *testing.T) {
	st := named(`SELECT @a, '@not', "@col", x @> y, @b::int, @a FROM t WHERE c = @b_2 AND d = @b`)
	want := `SELECT $1, '@not', "@col", x @> y, $2::int, $1 FROM t WHERE c = $3 AND d = $2`
	if st.sql != want {
		t.Fatalf("named:\n got %s\nwant %s", st.sql, want)
	}
	if !slices.Equal(st.names, []string{"a", "b", "b_2"}) {
		t.Fatalf("names %v", st.names)
	}
	if got := st.args(pgx.NamedArgs{"b_2": 3, "a": 1, "b": 2}); !slices.Equal(got, []any{1, 2, 3}) {
		t.Fatalf("args %v", got)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("args without a value for @b did not panic")
		}
	}()
	st.args(pgx.NamedArgs{"a": 1, "b_2": 3})
}
