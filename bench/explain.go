package main

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// statement is one statement the store sent, as a pgx tracer saw it.
type statement struct {
	SQL  string
	Args []any
}

// recorder is a pgx tracer that records the statements sent while it is
// on, so that the benchmark can EXPLAIN exactly what the store runs
// instead of a copy of its SQL.
type recorder struct {
	mu   sync.Mutex
	on   bool
	seen []statement
}

// TraceQueryStart records the statement when the recorder is on.
func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.on {
		r.seen = append(r.seen, statement{SQL: d.SQL, Args: d.Args})
	}
	return ctx
}

// TraceQueryEnd does nothing.
func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// record runs fn with the recorder on and returns the statements it sent
// that contain marker.
func (r *recorder) record(marker string, fn func() error) ([]statement, error) {
	r.mu.Lock()
	r.on, r.seen = true, nil
	r.mu.Unlock()
	err := fn()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = false
	var out []statement
	for _, s := range r.seen {
		if strings.Contains(s.SQL, marker) {
			out = append(out, s)
		}
	}
	return out, err
}

// explain returns the EXPLAIN (ANALYZE, BUFFERS) of st, run in a
// transaction that is rolled back (the claim query locks rows). With
// generic, the statement is prepared and executed with
// plan_cache_mode=force_generic_plan: the plan a long-lived connection
// may switch to after five executions of a prepared statement, which
// cannot use the parameters' values. Otherwise it is the plan for these
// values (the custom plan, which the first executions always use).
func explain(ctx context.Context, pool *pgxpool.Pool, st statement, generic bool) (string, error) {
	var lines []string
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		query := "EXPLAIN (ANALYZE, BUFFERS) " + st.SQL
		if generic {
			if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_generic_plan"); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "PREPARE ocpbench_explained AS "+st.SQL); err != nil {
				return err
			}
			marks := make([]string, len(st.Args))
			for i := range marks {
				marks[i] = "$" + strconv.Itoa(i+1)
			}
			query = "EXPLAIN (ANALYZE, BUFFERS) EXECUTE ocpbench_explained(" + strings.Join(marks, ", ") + ")"
		}
		// The simple protocol sends the arguments as literals, which
		// EXECUTE needs, and gives the custom plan the extended protocol
		// would for the same values.
		args := append([]any{pgx.QueryExecModeSimpleProtocol}, plainArgs(st.Args)...)
		rows, err := tx.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		lines, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if generic {
			_, err = tx.Exec(ctx, "DEALLOCATE ocpbench_explained")
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("explain: %w", err)
	}
	return strings.Join(lines, "\n"), nil
}

// plainArgs converts slices of string kinds (such as []store.JobType) to
// []string, which the simple protocol knows how to quote.
func plainArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		v := reflect.ValueOf(a)
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String && v.Type().Elem() != reflect.TypeFor[string]() {
			s := make([]string, v.Len())
			for j := range s {
				s[j] = v.Index(j).String()
			}
			a = s
		}
		out[i] = a
	}
	return out
}

var reBuffers = regexp.MustCompile(`Buffers: shared hit=(\d+)(?: read=(\d+))?`)

// planBuffers is the buffers the plan's top node touched (hit plus read),
// its children included.
func planBuffers(plan string) int {
	m := reBuffers.FindStringSubmatch(plan)
	if m == nil {
		return 0
	}
	hit, _ := strconv.Atoi(m[1])
	read, _ := strconv.Atoi(m[2])
	return hit + read
}

// scans lists the plan's scan lines ("Index Scan using x on jobs j",
// "Seq Scan on job_locks l"...), trimmed of costs and timings.
func scans(plan string) []string {
	var out []string
	for _, line := range strings.Split(plan, "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "->"))
		if strings.Contains(line, "Scan") && !strings.HasPrefix(line, "Buffers") {
			name := line
			if i := strings.Index(name, "  ("); i > 0 {
				name = name[:i]
			}
			out = append(out, strings.TrimSpace(name)+actualRows(line))
		}
	}
	return out
}

var reActualRows = regexp.MustCompile(`actual time=[0-9.]+\.\.[0-9.]+ rows=(\d+) loops=(\d+)`)

// actualRows is the " (rows r × loops l)" of a plan line, or "".
func actualRows(line string) string {
	m := reActualRows.FindStringSubmatch(line)
	if m == nil {
		return " (never executed)"
	}
	return fmt.Sprintf(" (rows %s, loops %s)", m[1], m[2])
}
