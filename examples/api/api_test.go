package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/memory"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// forEachBackend runs f on a fresh store of each backend; the PostgreSQL
// one skips (fails under CI) when postgrestest has no server.
func forEachBackend(t *testing.T, f func(t *testing.T, s *store.Store)) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		f(t, memory.New())
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		f(t, postgres.New(postgrestest.New(t).Pool(t)))
	})
}

// body returns a valid request body for a cluster called name.
func body(name string) string {
	return `{"name":"` + name + `","platform":"aws","version":"4.16.3","profile":"aws-standard",` +
		`"region":"us-east-1","owner":"alice@example.com","team":"platform","cost_center":"cc-1","ttl_hours":24}`
}

// post sends POST /clusters to h.
func post(h http.Handler, key, actor, b string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/clusters", strings.NewReader(b))
	if key != "" {
		r.Header.Set(HeaderIdempotencyKey, key)
	}
	if actor != "" {
		r.Header.Set(HeaderActor, actor)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// get sends GET path to h.
func get(h http.Handler, path string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	return w
}

// decode parses a JSON response body into v.
func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("response %d %q: %v", w.Code, w.Body.String(), err)
	}
	return v
}

// clusterCount returns how many clusters s holds.
func clusterCount(t *testing.T, s *store.Store) int {
	t.Helper()
	_, n, err := s.Clusters.List(t.Context(), store.ClusterFilters{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCreateAndReplay(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		h := NewHandler(s, nil)
		first := post(h, "k1", "alice", body("demo"))
		if first.Code != http.StatusCreated {
			t.Fatalf("create: %d %s", first.Code, first.Body)
		}
		created := decode[CreateResponse](t, first)
		if created.Status != store.ClusterPending || created.ClusterID == "" || created.JobID == "" {
			t.Fatalf("create response %+v", created)
		}

		// The cluster, its CREATE job and the audit event were written together.
		view := get(h, "/clusters/"+created.ClusterID)
		if view.Code != http.StatusOK || decode[ClusterView](t, view).RequestedBy != "alice" {
			t.Fatalf("get: %d %s", view.Code, view.Body)
		}
		job, err := s.Jobs.GetByID(t.Context(), created.JobID)
		if err != nil || job.JobType != store.JobCreate || job.Status != store.JobPending || job.ClusterID != created.ClusterID {
			t.Fatalf("job %+v, %v", job, err)
		}
		events, _, err := s.Audit.List(t.Context(), store.AuditFilters{ClusterID: &created.ClusterID})
		if err != nil || len(events) != 1 || events[0].Action != ActionClusterCreate || events[0].Actor != "alice" ||
			events[0].Metadata["idempotency_key"] != "k1" {
			t.Fatalf("audit %+v, %v", events, err)
		}

		// A retry replays the stored response byte for byte.
		replay := post(h, "k1", "alice", body("demo"))
		if replay.Code != first.Code || !bytes.Equal(replay.Body.Bytes(), first.Body.Bytes()) {
			t.Fatalf("replay: %d %q, want %d %q", replay.Code, replay.Body, first.Code, first.Body)
		}
		if replay.Header().Get(HeaderReplayed) != "true" || first.Header().Get(HeaderReplayed) != "" {
			t.Errorf("%s: first %q, replay %q", HeaderReplayed, first.Header().Get(HeaderReplayed), replay.Header().Get(HeaderReplayed))
		}
		if n := clusterCount(t, s); n != 1 {
			t.Errorf("%d clusters after a replay, want 1", n)
		}

		// Without a key there is no replay: the same body is a new request,
		// refused because the name is taken.
		if w := post(h, "", "alice", body("demo")); w.Code != http.StatusConflict {
			t.Errorf("duplicate name: %d %s, want 409", w.Code, w.Body)
		}
		if w := get(h, "/clusters/clu_nope"); w.Code != http.StatusNotFound {
			t.Errorf("unknown cluster: %d, want 404", w.Code)
		}
	})
}

func TestKeyMismatch(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		h := NewHandler(s, nil)
		if w := post(h, "k1", "alice", body("one")); w.Code != http.StatusCreated {
			t.Fatalf("create: %d %s", w.Code, w.Body)
		}
		if w := post(h, "k1", "alice", body("two")); w.Code != http.StatusUnprocessableEntity {
			t.Errorf("same key, other body: %d %s, want 422", w.Code, w.Body)
		}
		// Keys are scoped by actor: bob's k1 is not alice's.
		if w := post(h, "k1", "bob", body("two")); w.Code != http.StatusCreated {
			t.Errorf("other actor, same key: %d %s, want 201", w.Code, w.Body)
		}
		if n := clusterCount(t, s); n != 2 {
			t.Errorf("%d clusters, want 2", n)
		}
	})
}

// TestReservedNotCompleted: a key reserved but never completed (by other
// means than this handler, which reserves and completes in one
// transaction) is answered 409 with Retry-After, and nothing is created.
func TestReservedNotCompleted(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		b := body("pending")
		r := httptest.NewRequest(http.MethodPost, "/clusters", strings.NewReader(b))
		_, created, err := s.Idempotency.Reserve(t.Context(), store.IdempotencyReservation{
			Scope: "alice", Key: "k1", RequestHash: requestHash(r, []byte(b)), TTL: time.Hour})
		if err != nil || !created {
			t.Fatalf("reserve: created %v, %v", created, err)
		}
		w := post(NewHandler(s, nil), "k1", "alice", b)
		if w.Code != http.StatusConflict || w.Header().Get("Retry-After") == "" {
			t.Errorf("in-flight key: %d (Retry-After %q) %s, want 409 with Retry-After", w.Code, w.Header().Get("Retry-After"), w.Body)
		}
		if n := clusterCount(t, s); n != 0 {
			t.Errorf("%d clusters, want 0", n)
		}
	})
}

func TestValidation(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		h := NewHandler(s, nil)
		for _, tc := range []struct{ name, body, key, field string }{
			{"empty name", strings.Replace(body("x"), `"name":"x"`, `"name":""`, 1), "k", "name"},
			{"bad platform", strings.Replace(body("x"), `"aws"`, `"mars"`, 1), "k", "platform"},
			{"zero ttl", strings.Replace(body("x"), `"ttl_hours":24`, `"ttl_hours":0`, 1), "k", "ttl_hours"},
			{"ttl not a number", strings.Replace(body("x"), `"ttl_hours":24`, `"ttl_hours":"x"`, 1), "k", "ttl_hours"},
			{"unknown field", strings.Replace(body("x"), `{`, `{"colour":"red",`, 1), "k", "colour"},
			{"not JSON", `{"name":`, "k", "body"},
			{"trailing data", body("x") + "{}", "k", "body"},
			{"key too long", body("x"), strings.Repeat("k", store.MaxNameLen+1), HeaderIdempotencyKey},
		} {
			w := post(h, tc.key, "alice", tc.body)
			if w.Code != http.StatusBadRequest {
				t.Errorf("%s: %d %s, want 400", tc.name, w.Code, w.Body)
				continue
			}
			if got := decode[ErrorResponse](t, w).Field; got != tc.field {
				t.Errorf("%s: field %q, want %q", tc.name, got, tc.field)
			}
		}
		// A refused request rolled its key reservation back: the corrected
		// request may reuse the key.
		if w := post(h, "k", "alice", body("x")); w.Code != http.StatusCreated {
			t.Errorf("corrected request with the refused request's key: %d %s, want 201", w.Code, w.Body)
		}
	})
}

// TestConcurrentIdenticalRequests: 20 clients send the same request with the
// same key at once. Exactly one cluster is created and every client gets
// the same 201 and body.
func TestConcurrentIdenticalRequests(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		srv := httptest.NewServer(NewHandler(s, nil))
		defer srv.Close()
		const n = 20
		type result struct {
			status int
			body   []byte
			err    error
		}
		results := make([]result, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/clusters", strings.NewReader(body("race")))
				if err != nil {
					results[i].err = err
					return
				}
				req.Header.Set(HeaderIdempotencyKey, "same-key")
				req.Header.Set(HeaderActor, "alice")
				resp, err := srv.Client().Do(req)
				if err != nil {
					results[i].err = err
					return
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				results[i] = result{status: resp.StatusCode, body: b, err: err}
			})
		}
		close(start)
		wg.Wait()
		for i, r := range results {
			if r.err != nil {
				t.Fatalf("request %d: %v", i, r.err)
			}
			if r.status != http.StatusCreated || !bytes.Equal(r.body, results[0].body) {
				t.Errorf("request %d: %d %q, want 201 %q", i, r.status, r.body, results[0].body)
			}
		}
		if got := clusterCount(t, s); got != 1 {
			t.Errorf("%d clusters created, want 1", got)
		}
		_, jobs, err := s.Jobs.List(t.Context(), store.JobFilters{Limit: 1})
		if err != nil || jobs != 1 {
			t.Errorf("%d jobs (%v), want 1", jobs, err)
		}
	})
}

// A database that cannot be reached is answered 503 with Retry-After: it
// passes by itself (a restart, a failover), and an idempotent request is
// safe to send again.
func TestDatabaseUnavailable(t *testing.T) {
	t.Parallel()
	// Nothing listens on port 1: every connection is refused.
	pool, err := pgxpool.New(t.Context(), "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=5")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	h := NewHandler(postgres.New(pool), slog.New(slog.NewTextHandler(io.Discard, nil)))
	for what, w := range map[string]*httptest.ResponseRecorder{
		"GET":  get(h, "/clusters/clu_01ARZ3NDEKTSV4RRFFQ69G5FAV"),
		"POST": post(h, "k1", "alice", body("unreachable")),
	} {
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
			t.Errorf("%s with the database unreachable: %d (Retry-After %q) %s, want 503 with Retry-After",
				what, w.Code, w.Header().Get("Retry-After"), w.Body)
		}
	}
}
