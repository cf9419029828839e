package postgres

import (
	"fmt"
	"strconv"
	"strings"

	sq "github.com/Masterminds/squirrel"
	"github.com/jackc/pgx/v5"
)

// The SQL of the package comes in two kinds:
//
//   - Fixed statements are written as SQL text with @name parameters, so a
//     reader sees the statement, and compiled once, at package
//     initialisation, by named: each name becomes one $n placeholder,
//     however often it appears (the statement's "now" is one parameter), and
//     a call passes each value once, by name (statement.args). pgx.NamedArgs
//     would do the same per call, lexing the SQL every time; compiling once
//     keeps the hot statements as cheap as hand-numbered ones, and sends
//     the $n text that tracers, EXPLAIN and pgbench see.
//   - Dynamic statements, whose SQL depends on the input (the listings'
//     filters, sort and cursor in page.go; Update's fields; the artifact
//     and usage filters), are built with squirrel's builders (psql), the
//     listings rendered once per shape and cached.

// psql builds the dynamic statements, with $n placeholders.
var psql = sq.StatementBuilder.PlaceholderFormat(sq.Dollar)

// nowSQL is a statement's "now": the @now parameter (conn.now) when a
// clock is injected, else the database's statement_timestamp(). One SQL
// text serves both cases.
const nowSQL = "COALESCE(@now::timestamptz, statement_timestamp())"

// nowExpr is "now" for a squirrel-built statement.
func nowExpr(now any) sq.Sqlizer {
	return sq.Expr("COALESCE(?::timestamptz, statement_timestamp())", now)
}

// statement is a fixed statement compiled by named.
type statement struct {
	sql   string   // with $n placeholders
	names []string // names[n-1] is the name of $n
}

// named compiles sql, written with @name parameters, into a statement: the
// first name found is $1, and every later use of a name is the same $n.
// Quoted text ('…', "…") is left alone, and so is an @ not followed by a
// letter or underscore (the @> operator, say). A name is letters, digits
// and underscores.
func named(sql string) statement {
	var b strings.Builder
	var st statement
	index := map[string]int{}
	for i := 0; i < len(sql); i++ {
		c := sql[i]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(sql[i+1:], c)
			if end < 0 {
				panic(fmt.Sprintf("postgres: unterminated quote in %q", sql))
			}
			b.WriteString(sql[i : i+end+2])
			i += end + 1
		case c == '@' && i+1 < len(sql) && nameStart(sql[i+1]):
			j := i + 1
			for j < len(sql) && namePart(sql[j]) {
				j++
			}
			name := sql[i+1 : j]
			n, ok := index[name]
			if !ok {
				st.names = append(st.names, name)
				n = len(st.names)
				index[name] = n
			}
			b.WriteString("$" + strconv.Itoa(n))
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	st.sql = b.String()
	return st
}

func nameStart(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func namePart(c byte) bool  { return nameStart(c) || '0' <= c && c <= '9' }

// args returns the statement's arguments in $n order, from values by
// name. A name the statement uses and values lacks is a programming error
// (a panic), which any test running the statement shows.
func (st statement) args(values pgx.NamedArgs) []any {
	out := make([]any, len(st.names))
	for i, name := range st.names {
		v, ok := values[name]
		if !ok {
			panic(fmt.Sprintf("postgres: no value for @%s in %s", name, st.sql))
		}
		out[i] = v
	}
	return out
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

// joinColumns renders a column list.
func joinColumns(columns []string) string { return strings.Join(columns, ", ") }

// params renders "@name" for each column, the VALUES list of an insert
// whose parameters are named after its columns.
func params(columns ...string) string {
	parts := make([]string, len(columns))
	for i, c := range columns {
		parts[i] = "@" + c
	}
	return strings.Join(parts, ", ")
}
