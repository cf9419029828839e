package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ocpctl/ocpstore/store"
)

// coreHostile and moreHostile are what a hostile or careless client sends in a string
// field: quotes and SQL fragments (stored as text, never executed),
// placeholders and LIKE wildcards, backslashes, JSON and markup, control
// characters, multi-byte and odd Unicode, blanks; and the ones no column
// can hold: NUL bytes and invalid UTF-8. coreHostile has one or two of
// each kind in few values, for the fields whose every write needs rows
// prepared first; the others get both lists. Each field also gets strings
// of exactly its limit and one byte over (see valuesFor).
var (
	coreHostile = []string{
		"", " \t", "O'Brien \"quoted\" `ticked`", "'; DROP TABLE clusters; --", "$1 ? :name @p1 %s", "%", "_",
		`\ \\ \' \x00 \u0000`, "NULL", "🚀 👩‍💻 日本語 e\u0301 \u202e", "line\n\ttab\x01\x7f",
		"\x00", "a\x00b", "a\xffb", "\xed\xa0\x80",
	}
	moreHostile = []string{
		" ", "\t\n", "\u3000",
		"O'Brien", `"quoted"`, "''", `\'`, "`backtick`",
		`"; DROP TABLE jobs; --`, "1' OR '1'='1", "x'); DELETE FROM audit_events; --",
		"$1", "$1::text", "$$", "?", ":name", "@p1", "%s%d", "%%", "%_%", "a%", "a_c", "[a-z]*",
		`\`, `\\`, `\x00`, `\0`, `E'\x41'`, `\n`, `\u0000`,
		"null", "nil", "true", "0", "-1",
		"{}", `{"a":1}`, "[1,2]", `<script>alert("x")</script>`, "${jndi:ldap://x}", "../../etc/passwd",
		" leading and trailing ", "line1\nline2\r\n\ttab", "\x01\x1f\x7f",
		"🚀", "👩‍💻 👨‍👩‍👧", "日本語テキスト", "Ünïcödé", "e\u0301", "\u202eRTL", "zero\u200bwidth", "\ufeffBOM", "\ufffd", "\U0010ffff",
		"\xc3", "\xf4\x90\x80\x80", "\xc0\xaf",
	}
)

// bytesOfMultibyte returns a string of exactly n bytes made mostly of 4-
// and 2-byte characters, so it has far fewer characters than bytes: the
// limits are in bytes.
func bytesOfMultibyte(n int) string {
	return strings.Repeat("🚀", n/4) + strings.Repeat("é", n%4/2) + strings.Repeat("x", n%2)
}

// valuesFor returns, for a field of max bytes, strings of exactly max
// bytes (accepted) and of max+1 (refused), in ASCII and in multi-byte
// characters, then the hostile strings (only the core ones unless all).
// The long strings come first so that the next accepted value replaces a
// long one written to a fixture row, which every refusal reads back.
func valuesFor(max int, all bool) []string {
	vals := []string{long(max), long(max + 1), bytesOfMultibyte(max), bytesOfMultibyte(max + 1)}
	vals = append(vals, coreHostile...)
	if all {
		vals = append(vals, moreHostile...)
	}
	return vals
}

// stringField is one string field of the API: how to write a value into it
// and read it back.
type stringField struct {
	op       string // the operation writing it, e.g. "Create"
	field    string // the field a refusal names, e.g. "cluster.name"
	max      int    // its limit, in bytes
	required bool   // whether an empty or blank value is refused
	assigned bool   // an ID: empty means the store assigns one, so "" is not tried
	core     bool   // only the core hostile strings: each write costs several statements
	// prepare, when set, writes the rows write needs (a job to cancel, a
	// running job to finish) before the snapshot a refusal is compared
	// with, and returns them.
	prepare func(b *bundle, fx *hostileFixture) (target, error)
	// write stores v in the field of a new row, the prepared one or the
	// fixture's, and returns what reading the row back (through the
	// secondary handle) gives, or nilString for a nil pointer.
	write func(b *bundle, fx *hostileFixture, tg target, v string) (got string, err error)
}

// target is what a stringField's prepare made.
type target struct {
	jobID     string
	lock      *store.JobLock
	clusterID string
}

// nilString stands for a nil pointer read back: no valid value equals it.
const nilString = "\x00<nil>"

// deref returns *p, or nilString.
func deref(p *string) string {
	if p == nil {
		return nilString
	}
	return *p
}

// accepts reports whether f must accept v: what every stored string
// satisfies (valid UTF-8, no NUL, within the limit) and, for a required
// field, not blank.
func (f stringField) accepts(v string) bool {
	return utf8.ValidString(v) && !strings.ContainsRune(v, 0) && len(v) <= f.max &&
		(!f.required || strings.TrimSpace(v) != "")
}

// testHostileStrings writes every hostile string into every string field
// of the API: each is either stored verbatim and read back identical, or
// refused with ErrInvalidArgument naming the field and nothing written.
// Then LIKE-ish and regex-ish filter values must match literally.
func testHostileStrings(t *testing.T, setup setupFunc) {
	groups := []struct {
		name   string
		fields []stringField
	}{
		{"Clusters", clusterStringFields()},
		{"Jobs", jobStringFields()},
		{"Worker", workerStringFields()},
		{"Idempotency", idempotencyStringFields()},
		{"RBAC", rbacStringFields()},
		{"Audit", auditStringFields()},
		{"Outputs", outputStringFields()},
		{"Usage", usageStringFields()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			fx := newHostileFixture(t, b)
			for _, f := range g.fields {
				t.Run(f.op+"/"+f.field, func(t *testing.T) { f.check(t, b, fx) })
			}
		})
	}
	t.Run("IdempotencyBodies", func(t *testing.T) { t.Parallel(); testHostileBodies(t, setup(t)) })
	t.Run("FiltersMatchLiterally", func(t *testing.T) { testLiteralFilters(t, setup) })
}

// check writes every value of valuesFor into the field: first those it
// must accept, then those it must refuse, each compared with the snapshot
// after the previous refusal (or after preparing).
func (f stringField) check(t *testing.T, b *bundle, fx *hostileFixture) {
	t.Helper()
	var accepted, refused []string
	for _, v := range valuesFor(f.max, !f.core) {
		switch {
		case v == "" && f.assigned:
		case f.accepts(v):
			accepted = append(accepted, v)
		default:
			refused = append(refused, v)
		}
	}
	what := func(v string) string { return fmt.Sprintf("value %.60q (%d bytes)", v, len(v)) }
	prepare := func(v string) target {
		if f.prepare == nil {
			return target{}
		}
		tg, err := f.prepare(b, fx)
		requireNoErr(t, err, what(v)+": prepare")
		return tg
	}
	for _, v := range accepted {
		got, err := f.write(b, fx, prepare(v), v)
		if err != nil {
			t.Fatalf("%s: refused: %v", what(v), err)
		}
		if got != v {
			t.Fatalf("%s: read back %.60q (%d bytes)", what(v), got, len(got))
		}
	}
	var before *observed
	for _, v := range refused {
		tg := prepare(v)
		if before == nil || f.prepare != nil {
			o := b.observe(t, fx)
			before = &o
		}
		_, err := f.write(b, fx, tg, v)
		if !isInvalid(err, f.field) {
			t.Fatalf("%s: got %v, want ErrInvalidArgument for %q", what(v), err, f.field)
		}
		after := b.observe(t, fx)
		requireEqual(t, *before, after, what(v)+": store after the refused write")
		before = &after
	}
}

// hostileFixture is the data the hostile values are written next to: a
// READY cluster with a PENDING job, a RUNNING job holding its cluster's
// lock, and a usage sample.
type hostileFixture struct {
	cluster *store.Cluster // READY, with a PENDING job
	job     *store.Job     // PENDING, on cluster
	running *store.Job     // RUNNING on another cluster, holding lock
	lock    *store.JobLock // running's current lock
}

// newHostileFixture writes a hostileFixture.
func newHostileFixture(t *testing.T, b *bundle) *hostileFixture {
	t.Helper()
	fx := &hostileFixture{cluster: b.readyCluster(t)}
	fx.job = b.job(t, fx.cluster.ID, store.JobPostConfigure)
	fx.running, fx.lock = b.startedJob(t, "w1", time.Hour)
	requireNoErr(t, b.s.Usage.Record(b.ctx, &store.UsageSample{ClusterID: fx.cluster.ID, SampleTime: epoch,
		State: store.ClusterReady}), "record a sample")
	return fx
}

// idemScope and idemKey are the scope and key of the hostile reservations.
const idemScope, idemKey = "user:ann", "request-1"

// isInvalid reports whether err is ErrInvalidArgument naming field.
func isInvalid(err error, field string) bool {
	var ve *store.ValidationError
	return errors.Is(err, store.ErrInvalidArgument) && errors.As(err, &ve) && ve.Field == field
}

// observed is everything a refused hostile write could have written.
type observed struct {
	Clusters, Jobs, Audit, RBAC int
	Cluster                     *store.Cluster
	Job, Running                *store.Job
	Lock                        *store.JobLock
	ClusterLocked               bool
	IdempotencyKey              bool
	Outputs                     bool
	Artifacts, Samples          int
}

// observe reads what a refused hostile write could have written.
func (b *bundle) observe(t *testing.T, fx *hostileFixture) observed {
	t.Helper()
	var o observed
	var err error
	_, o.Clusters, err = b.s.Clusters.List(b.ctx, store.ClusterFilters{Limit: 1})
	requireNoErr(t, err, "count clusters")
	_, o.Jobs, err = b.s.Jobs.List(b.ctx, store.JobFilters{Limit: 1})
	requireNoErr(t, err, "count jobs")
	_, o.Audit, err = b.s.Audit.List(b.ctx, store.AuditFilters{Limit: 1})
	requireNoErr(t, err, "count audit events")
	_, o.RBAC, err = b.s.RBAC.List(b.ctx, store.RBACFilters{Limit: 1})
	requireNoErr(t, err, "count mappings")
	o.Cluster, o.Job, o.Running = b.getCluster(t, fx.cluster.ID), b.getJob(t, fx.job.ID), b.getJob(t, fx.running.ID)
	o.Lock, err = b.s.JobLocks.Get(b.ctx, fx.lock.ClusterID)
	requireNoErr(t, err, "get lock")
	_, err = b.s.JobLocks.Get(b.ctx, fx.cluster.ID)
	o.ClusterLocked = err == nil
	_, err = b.s.Idempotency.Get(b.ctx, idemScope, idemKey)
	o.IdempotencyKey = err == nil
	_, err = b.s.Outputs.Get(b.ctx, fx.cluster.ID)
	o.Outputs = err == nil
	arts, err := b.s.Outputs.ListArtifacts(b.ctx, fx.cluster.ID, nil)
	requireNoErr(t, err, "list artifacts")
	o.Artifacts = len(arts)
	samples, err := b.s.Usage.List(b.ctx, fx.cluster.ID, epoch.AddDate(-1, 0, 0), epoch.AddDate(1, 0, 0))
	requireNoErr(t, err, "list samples")
	o.Samples = len(samples)
	return o
}
