package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// The string fields of idempotency keys, RBAC mappings, audit events,
// outputs, artifacts and usage samples, for testHostileStrings, and the
// idempotency response bodies.

// reserveAndGet reserves r and reads the key back.
func reserveAndGet(b *bundle, r store.IdempotencyReservation) (*store.IdempotencyKey, error) {
	r.TTL = time.Hour
	if _, _, err := b.s.Idempotency.Reserve(b.ctx, r); err != nil {
		return nil, err
	}
	return b.s2.Idempotency.Get(b.ctx, r.Scope, r.Key)
}

// completeAndGet reserves scope and key (a refusal is left to Complete,
// which checks them the same way), completes them and reads them back.
func completeAndGet(b *bundle, scope, key string) (*store.IdempotencyKey, error) {
	_, _, err := b.s.Idempotency.Reserve(b.ctx, store.IdempotencyReservation{Scope: scope, Key: key, RequestHash: "h", TTL: time.Hour})
	if err != nil && !errors.Is(err, store.ErrInvalidArgument) {
		return nil, err
	}
	if _, err := b.s.Idempotency.Complete(b.ctx, scope, key, 201, json.RawMessage(`{}`)); err != nil {
		return nil, err
	}
	k, err := b.s2.Idempotency.Get(b.ctx, scope, key)
	if err == nil && !k.Completed() {
		err = fmt.Errorf("key %q in scope %q not completed", key, scope)
	}
	return k, err
}

func idempotencyStringFields() []stringField {
	const scope = "hostile"
	return []stringField{
		{op: "Reserve", field: "scope", max: store.MaxNameLen, required: true,
			write: func(b *bundle, _ *hostileFixture, _ target, v string) (string, error) {
				k, err := reserveAndGet(b, store.IdempotencyReservation{Scope: v, Key: uniq("k"), RequestHash: "h"})
				if err != nil {
					return "", err
				}
				return k.Scope, nil
			}},
		{op: "Reserve", field: "key", max: store.MaxNameLen, required: true,
			write: func(b *bundle, _ *hostileFixture, _ target, v string) (string, error) {
				k, err := reserveAndGet(b, store.IdempotencyReservation{Scope: scope, Key: v, RequestHash: "h"})
				if err != nil {
					return "", err
				}
				return k.Key, nil
			}},
		{op: "Reserve", field: "request_hash", max: store.MaxHashLen, required: true,
			write: func(b *bundle, _ *hostileFixture, _ target, v string) (string, error) {
				k, err := reserveAndGet(b, store.IdempotencyReservation{Scope: scope, Key: uniq("k"), RequestHash: v})
				if err != nil {
					return "", err
				}
				return k.RequestHash, nil
			}},
		{op: "Complete", field: "scope", max: store.MaxNameLen, required: true,
			write: func(b *bundle, _ *hostileFixture, _ target, v string) (string, error) {
				k, err := completeAndGet(b, v, uniq("c"))
				if err != nil {
					return "", err
				}
				return k.Scope, nil
			}},
		{op: "Complete", field: "key", max: store.MaxNameLen, required: true,
			write: func(b *bundle, _ *hostileFixture, _ target, v string) (string, error) {
				k, err := completeAndGet(b, scope+"-complete", v)
				if err != nil {
					return "", err
				}
				return k.Key, nil
			}},
	}
}

// createMappingAndGet creates the valid mapping mod makes and reads it back.
func createMappingAndGet(b *bundle, mod func(*store.RBACMapping)) (*store.RBACMapping, error) {
	m := &store.RBACMapping{IAMPrincipalARN: uniq("arn:aws:iam::1:user/u"), IAMPrincipalType: store.PrincipalUser,
		Team: "team-a", Role: store.RoleRequester, Enabled: true}
	mod(m)
	if err := b.s.RBAC.Create(b.ctx, m); err != nil {
		return nil, err
	}
	return b.s2.RBAC.GetByID(b.ctx, m.ID)
}

// mappingField is a mapping string field written by Create.
func mappingField(field string, max int, required bool, set func(*store.RBACMapping, string), get func(*store.RBACMapping) string) stringField {
	return stringField{op: "Create", field: field, max: max, required: required, assigned: field == "mapping.id",
		write: func(b *bundle, _ *hostileFixture, _ target, v string) (string, error) {
			m, err := createMappingAndGet(b, func(m *store.RBACMapping) { set(m, v) })
			if err != nil {
				return "", err
			}
			return get(m), nil
		}}
}

func rbacStringFields() []stringField {
	type m = store.RBACMapping
	return []stringField{
		mappingField("mapping.id", store.MaxIDLen, true, func(m *m, v string) { m.ID = v }, func(m *m) string { return m.ID }),
		{op: "Create", field: "mapping.iam_principal_arn", max: store.MaxARNLen, required: true,
			write: func(b *bundle, _ *hostileFixture, _ target, v string) (string, error) {
				if _, err := createMappingAndGet(b, func(m *m) { m.IAMPrincipalARN = v }); err != nil {
					return "", err
				}
				ms, err := b.s2.RBAC.ListForPrincipal(b.ctx, v)
				if err != nil || len(ms) != 1 {
					return fmt.Sprintf("%d mappings for the principal", len(ms)), err
				}
				return ms[0].IAMPrincipalARN, nil
			}},
		mappingField("mapping.team", store.MaxNameLen, true, func(m *m, v string) { m.Team = v }, func(m *m) string { return m.Team }),
		mappingField("mapping.created_by", store.MaxARNLen, false, func(m *m, v string) { m.CreatedBy = &v },
			func(m *m) string { return deref(m.CreatedBy) }),
		mappingField("mapping.notes", store.MaxTextLen, false, func(m *m, v string) { m.Notes = &v },
			func(m *m) string { return deref(m.Notes) }),
	}
}

// logAndGet logs the valid event mod makes and reads it back by its actor.
func logAndGet(b *bundle, fx *hostileFixture, mod func(*store.AuditEvent)) (*store.AuditEvent, error) {
	e := &store.AuditEvent{Actor: uniq("actor"), Action: "cluster.create", TargetClusterID: &fx.cluster.ID, Status: store.AuditSuccess}
	mod(e)
	if err := b.s.Audit.Log(b.ctx, e); err != nil {
		return nil, err
	}
	evs, _, err := b.s2.Audit.List(b.ctx, store.AuditFilters{Actor: &e.Actor})
	if err != nil {
		return nil, err
	}
	if len(evs) != 1 || evs[0].ID != e.ID {
		return nil, fmt.Errorf("actor %q lists %d events, want just %s", e.Actor, len(evs), e.ID)
	}
	return evs[0], nil
}

// eventField is an audit event string field written by Log.
func eventField(field string, max int, required bool, set func(*store.AuditEvent, string), get func(*store.AuditEvent) string) stringField {
	return stringField{op: "Log", field: field, max: max, required: required, assigned: field == "event.id",
		write: func(b *bundle, fx *hostileFixture, _ target, v string) (string, error) {
			e, err := logAndGet(b, fx, func(e *store.AuditEvent) { set(e, v) })
			if err != nil {
				return "", err
			}
			return get(e), nil
		}}
}

func auditStringFields() []stringField {
	type e = store.AuditEvent
	fields := []stringField{
		eventField("event.id", store.MaxIDLen, true, func(e *e, v string) { e.ID = v }, func(e *e) string { return e.ID }),
		eventField("event.actor", store.MaxARNLen, true, func(e *e, v string) { e.Actor = v }, func(e *e) string { return e.Actor }),
		eventField("event.action", store.MaxActionLen, true, func(e *e, v string) { e.Action = v }, func(e *e) string { return e.Action }),
		eventField("event.user_agent", store.MaxTextLen, false, func(e *e, v string) { e.UserAgent = &v },
			func(e *e) string { return deref(e.UserAgent) }),
	}
	return append(fields, tagFields("Log", "event.metadata", nil,
		func(b *bundle, fx *hostileFixture, _ target, md map[string]string) (map[string]string, error) {
			e, err := logAndGet(b, fx, func(e *e) { e.Metadata = md })
			if err != nil {
				return nil, err
			}
			return e.Metadata, nil
		})...)
}

// outputField is an outputs string field written by Upsert on the
// fixture's cluster.
func outputField(field string, get func(*store.ClusterOutputs) **string) stringField {
	return stringField{op: "Upsert", field: "outputs." + field, max: store.MaxTextLen,
		write: func(b *bundle, fx *hostileFixture, _ target, v string) (string, error) {
			o := &store.ClusterOutputs{ClusterID: fx.cluster.ID}
			*get(o) = &v
			if err := b.s.Outputs.Upsert(b.ctx, o); err != nil {
				return "", err
			}
			got, err := b.s2.Outputs.Get(b.ctx, fx.cluster.ID)
			if err != nil {
				return "", err
			}
			return deref(*get(got)), nil
		}}
}

// freshCluster prepares a cluster of its own for a write, so that reading
// the write back reads no long value an earlier write left.
func freshCluster(b *bundle, _ *hostileFixture) (target, error) {
	c := validCluster()
	err := b.s.Clusters.Create(b.ctx, c)
	return target{clusterID: c.ID}, err
}

// addArtifactAndGet adds the valid artifact mod makes to the prepared
// cluster and reads it back.
func addArtifactAndGet(b *bundle, tg target, mod func(*store.ClusterArtifact)) (*store.ClusterArtifact, error) {
	a := &store.ClusterArtifact{ClusterID: tg.clusterID, ArtifactType: store.ArtifactLog, S3URI: "s3://b/k"}
	mod(a)
	if err := b.s.Outputs.AddArtifact(b.ctx, a); err != nil {
		return nil, err
	}
	arts, err := b.s2.Outputs.ListArtifacts(b.ctx, tg.clusterID, nil)
	if err != nil {
		return nil, err
	}
	if len(arts) != 1 || arts[0].ID != a.ID {
		return nil, fmt.Errorf("cluster %s lists %d artifacts, want just %s", tg.clusterID, len(arts), a.ID)
	}
	return arts[0], nil
}

func outputStringFields() []stringField {
	type o = store.ClusterOutputs
	type a = store.ClusterArtifact
	artifact := func(field string, max int, required bool, set func(*a, string), get func(*a) string) stringField {
		return stringField{op: "AddArtifact", field: field, max: max, required: required, assigned: field == "artifact.id",
			prepare: freshCluster,
			write: func(b *bundle, _ *hostileFixture, tg target, v string) (string, error) {
				got, err := addArtifactAndGet(b, tg, func(a *a) { set(a, v) })
				if err != nil {
					return "", err
				}
				return get(got), nil
			}}
	}
	return []stringField{
		outputField("api_url", func(o *o) **string { return &o.APIURL }),
		outputField("console_url", func(o *o) **string { return &o.ConsoleURL }),
		outputField("kubeconfig_s3_uri", func(o *o) **string { return &o.KubeconfigS3URI }),
		outputField("kubeadmin_secret_ref", func(o *o) **string { return &o.KubeadminSecretRef }),
		outputField("metadata_s3_uri", func(o *o) **string { return &o.MetadataS3URI }),
		outputField("dashboard_token", func(o *o) **string { return &o.DashboardToken }),
		outputField("sa_name", func(o *o) **string { return &o.SAName }),
		outputField("sa_namespace", func(o *o) **string { return &o.SANamespace }),
		outputField("sa_token", func(o *o) **string { return &o.SAToken }),
		outputField("oc_login_command", func(o *o) **string { return &o.OCLoginCommand }),
		artifact("artifact.id", store.MaxIDLen, true, func(a *a, v string) { a.ID = v }, func(a *a) string { return a.ID }),
		artifact("artifact.s3_uri", store.MaxTextLen, true, func(a *a, v string) { a.S3URI = v }, func(a *a) string { return a.S3URI }),
		artifact("artifact.checksum", store.MaxNameLen, false, func(a *a, v string) { a.Checksum = &v },
			func(a *a) string { return deref(a.Checksum) }),
	}
}

// recordAndGet records the valid sample mod makes for the prepared
// cluster and reads it back.
func recordAndGet(b *bundle, tg target, mod func(*store.UsageSample)) (*store.UsageSample, error) {
	s := &store.UsageSample{ClusterID: tg.clusterID, SampleTime: epoch, State: store.ClusterReady}
	mod(s)
	if err := b.s.Usage.Record(b.ctx, s); err != nil {
		return nil, err
	}
	got, err := b.s2.Usage.List(b.ctx, tg.clusterID, epoch, epoch.Add(time.Microsecond))
	if err != nil {
		return nil, err
	}
	if len(got) != 1 {
		return nil, fmt.Errorf("%d samples of cluster %s, want 1", len(got), tg.clusterID)
	}
	return got[0], nil
}

func usageStringFields() []stringField {
	fields := []stringField{
		{op: "Record", field: "sample.id", max: store.MaxIDLen, required: true, assigned: true, prepare: freshCluster,
			write: func(b *bundle, _ *hostileFixture, tg target, v string) (string, error) {
				s, err := recordAndGet(b, tg, func(s *store.UsageSample) { s.ID = v })
				if err != nil {
					return "", err
				}
				return s.ID, nil
			}},
	}
	metadata := tagFields("Record", "sample.metadata", freshCluster,
		func(b *bundle, _ *hostileFixture, tg target, md map[string]string) (map[string]string, error) {
			s, err := recordAndGet(b, tg, func(s *store.UsageSample) { s.Metadata = md })
			if err != nil {
				return nil, err
			}
			return s.Metadata, nil
		})
	for i := range metadata {
		metadata[i].core = false // a cluster is one statement: every hostile string
	}
	return append(fields, metadata...)
}

// testHostileBodies stores odd but valid JSON response bodies (returned
// byte for byte, whitespace, escapes and duplicate keys included) and
// refuses the invalid ones, and those that are not UTF-8 or too long.
func testHostileBodies(t *testing.T, b *bundle) {
	valid := []string{
		`{"sql":"'; DROP TABLE idempotency_keys; --"}`, `{"nul":"\u0000"}`, `"\ud83d\ude80"`, `{"lone":"\ud800"}`,
		`[ 1 , 2 ,3 ]`, "\n{\t\"a\" : 1 }\n", `{"a":1,"a":2}`, `1e400`, `-0.0`, `null`, `""`, `"🚀 日本語"`,
		`{"b":2,"a":1}`, `"\\\"\/"`, `"$1 % _"`, `"` + long(store.MaxTextLen-2) + `"`,
	}
	invalid := []string{"", `{"a":`, "{'a':1}", "\"a\xffb\"", "\"a\x00b\"", `"` + long(store.MaxTextLen-1) + `"`, "NaN", "{} {}"}
	reserve := func(what string) string {
		key := uniq("body")
		_, _, err := b.s.Idempotency.Reserve(b.ctx, store.IdempotencyReservation{Scope: "bodies", Key: key, RequestHash: "h", TTL: time.Hour})
		requireNoErr(t, err, what+": reserve")
		return key
	}
	for i, body := range valid {
		what := fmt.Sprintf("valid body %d %.60q", i, body)
		key := reserve(what)
		_, err := b.s.Idempotency.Complete(b.ctx, "bodies", key, 200, json.RawMessage(body))
		requireNoErr(t, err, what)
		got, err := b.s2.Idempotency.Get(b.ctx, "bodies", key)
		requireNoErr(t, err, what+": get")
		if !bytes.Equal(got.ResponseBody, []byte(body)) {
			t.Fatalf("%s: read back %.60q", what, got.ResponseBody)
		}
	}
	for i, body := range invalid {
		what := fmt.Sprintf("invalid body %d %.60q", i, body)
		key := reserve(what)
		_, err := b.s.Idempotency.Complete(b.ctx, "bodies", key, 200, json.RawMessage(body))
		if !isInvalid(err, "body") {
			t.Fatalf("%s: got %v, want ErrInvalidArgument for \"body\"", what, err)
		}
		got, err := b.s2.Idempotency.Get(b.ctx, "bodies", key)
		requireNoErr(t, err, what+": get")
		if got.Completed() {
			t.Fatalf("%s: the refused Complete completed the key", what)
		}
	}
}
