package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// literalValues are filter values that a LIKE, ILIKE, regex, glob or
// trimming comparison would match against other values of the set: every
// filter must match them by equality only, byte for byte. "%" must not
// match everything, "a_c" not "abc", "a%" not "a", "A_C" not "a_c", " a"
// not "a".
var literalValues = []string{"%", "%%", "_", "_%", "a", "a%", "a_c", "abc", "aXc", "A_C", `a\c`, `a\%`, `a\\c`,
	"*", ".*", "a.*", "[a]", "'", "''", "$1", " a", "a ", "é", "e\u0301"}

// testLiteralFilters gives each literal value its own cluster (as team,
// owner, profile and region), audit event (actor and action), RBAC mapping
// (principal and team) and usage sample, then filters by each value: only
// the rows holding exactly that value may come back.
func testLiteralFilters(t *testing.T, setup setupFunc) {
	t.Run("Clusters", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		byValue := map[string]string{}
		for _, v := range literalValues {
			c := b.cluster(t, func(c *store.Cluster) { c.Team, c.Owner, c.Profile, c.Region = v, v, v, v })
			byValue[v] = c.ID
		}
		b.cluster(t) // one more, matching none of the filters
		for _, v := range literalValues {
			want := []string{byValue[v]}
			for name, f := range map[string]store.ClusterFilters{"team": {Team: &v}, "owner": {Owner: &v},
				"profile": {Profile: &v}, "region": {Region: &v}} {
				what := fmt.Sprintf("clusters with %s %q", name, v)
				got, total, err := b.s.Clusters.List(b.ctx, f)
				requireNoErr(t, err, what)
				requireIDs(t, want, ids(got, clusterID), what)
				if total != 1 {
					t.Fatalf("%s: total %d, want 1", what, total)
				}
				page, err := b.s2.Clusters.ListAfter(b.ctx, f, "")
				requireNoErr(t, err, what+" (keyset)")
				requireIDs(t, want, ids(page.Items, clusterID), what+" (keyset)")
			}
			usageByTeam(t, b, v, byValue[v])
		}
	})
	t.Run("Audit", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		byValue := map[string]string{}
		for _, v := range literalValues {
			e := &store.AuditEvent{Actor: v, Action: v, Status: store.AuditSuccess}
			requireNoErr(t, b.s.Audit.Log(b.ctx, e), "log")
			byValue[v] = e.ID
		}
		for _, v := range literalValues {
			for name, f := range map[string]store.AuditFilters{"actor": {Actor: &v}, "action": {Action: &v}} {
				what := fmt.Sprintf("events with %s %q", name, v)
				got, total, err := b.s.Audit.List(b.ctx, f)
				requireNoErr(t, err, what)
				requireIDs(t, []string{byValue[v]}, ids(got, auditID), what)
				if total != 1 {
					t.Fatalf("%s: total %d, want 1", what, total)
				}
				page, err := b.s2.Audit.ListAfter(b.ctx, f, "")
				requireNoErr(t, err, what+" (keyset)")
				requireIDs(t, []string{byValue[v]}, ids(page.Items, auditID), what+" (keyset)")
			}
		}
	})
	t.Run("RBAC", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		byValue := map[string]string{}
		for _, v := range literalValues {
			m := &store.RBACMapping{IAMPrincipalARN: v, IAMPrincipalType: store.PrincipalRole, Team: v,
				Role: store.RoleAuditor, Enabled: true}
			requireNoErr(t, b.s.RBAC.Create(b.ctx, m), "create mapping")
			byValue[v] = m.ID
		}
		for _, v := range literalValues {
			want := []string{byValue[v]}
			for name, f := range map[string]store.RBACFilters{"principal": {IAMPrincipalARN: &v}, "team": {Team: &v}} {
				what := fmt.Sprintf("mappings with %s %q", name, v)
				got, total, err := b.s.RBAC.List(b.ctx, f)
				requireNoErr(t, err, what)
				requireIDs(t, want, ids(got, rbacID), what)
				if total != 1 {
					t.Fatalf("%s: total %d, want 1", what, total)
				}
			}
			got, err := b.s2.RBAC.ListForPrincipal(b.ctx, v)
			requireNoErr(t, err, "list for principal")
			requireIDs(t, want, ids(got, rbacID), fmt.Sprintf("mappings of principal %q", v))
		}
	})
}

// usageByTeam records a sample for cluster id, of team, and checks that
// summaries filtered by team hold only that cluster.
func usageByTeam(t *testing.T, b *bundle, team, id string) {
	t.Helper()
	requireNoErr(t, b.s.Usage.Record(b.ctx, &store.UsageSample{ClusterID: id, SampleTime: epoch,
		State: store.ClusterReady, EstimatedHourlyCost: ptr(1.0)}), "record")
	r := store.UsageRange{From: epoch, To: epoch.Add(time.Hour), Team: &team}
	byCluster, err := b.s2.Usage.SummarizeByCluster(b.ctx, r)
	requireNoErr(t, err, "summarize by cluster")
	byTeam, err := b.s2.Usage.SummarizeByTeam(b.ctx, r)
	requireNoErr(t, err, "summarize by team")
	keys := func(ss []store.UsageSummary) []string {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = s.Key
		}
		return out
	}
	requireIDs(t, []string{id}, keys(byCluster), fmt.Sprintf("usage of team %q by cluster", team))
	requireIDs(t, []string{team}, keys(byTeam), fmt.Sprintf("usage of team %q by team", team))
}
