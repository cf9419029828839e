package postgres

import (
	"fmt"
	"strings"

	sq "github.com/Masterminds/squirrel"
)

// psql builds every statement of the package, with $n placeholders.
var psql = sq.StatementBuilder.PlaceholderFormat(sq.Dollar)

// nowSQL is the statement's "now": the parameter (conn.now) when a clock is
// injected, else the database's statement_timestamp(). One SQL text serves
// both cases.
const nowSQL = "COALESCE(?::timestamptz, statement_timestamp())"

// nowExpr is nowSQL with its argument, for statements built per call.
func nowExpr(now any) sq.Sqlizer { return sq.Expr(nowSQL, now) }

// mustSQL renders a fixed-shape statement once, at package initialisation.
// Its arguments are passed at call time in placeholder order, which the
// comment next to each statement lists; the arguments given here only
// shape the SQL. A statement that does not render is a programming error.
func mustSQL(b sq.Sqlizer) string {
	s, _, err := b.ToSql()
	if err != nil {
		panic(fmt.Sprintf("postgres: building SQL: %v", err))
	}
	return s
}

// literals renders values as a list of SQL string literals, for the
// constant lists (enum values) partial indexes are defined on: the planner
// can use a partial index only when the query repeats its predicate's
// constants, which a parameter would hide.
func literals[S ~string](values ...S) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = "'" + strings.ReplaceAll(string(v), "'", "''") + "'"
	}
	return strings.Join(quoted, ", ")
}

// qualify prefixes each column with a table alias.
func qualify(alias string, columns []string) []string {
	out := make([]string, len(columns))
	for i, c := range columns {
		out[i] = alias + "." + c
	}
	return out
}

// excluded renders "col = EXCLUDED.col" for each column, the SET list of
// an upsert that replaces those columns with the proposed row's values.
func excluded(columns ...string) string {
	parts := make([]string, len(columns))
	for i, c := range columns {
		parts[i] = c + " = EXCLUDED." + c
	}
	return strings.Join(parts, ", ")
}

// joinColumns renders a column list, for RETURNING clauses.
func joinColumns(columns []string) string { return strings.Join(columns, ", ") }
