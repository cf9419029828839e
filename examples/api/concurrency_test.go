package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ocpctl/ocpstore/store"
)

// reply is one client's view of a response.
type reply struct {
	status   int
	body     []byte
	replayed bool
	err      error
}

// postConcurrently sends n copies of POST /clusters with body b, key and
// actor to srv, released at once, and returns the replies in request order.
func postConcurrently(t *testing.T, srv *httptest.Server, n int, key, actor, b string) []reply {
	t.Helper()
	replies := make([]reply, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/clusters", strings.NewReader(b))
			if err != nil {
				replies[i].err = err
				return
			}
			req.Header.Set(HeaderIdempotencyKey, key)
			req.Header.Set(HeaderActor, actor)
			resp, err := srv.Client().Do(req)
			if err != nil {
				replies[i].err = err
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			replies[i] = reply{status: resp.StatusCode, body: body, replayed: resp.Header.Get(HeaderReplayed) == "true", err: err}
		})
	}
	close(start)
	wg.Wait()
	return replies
}

// TestFiftyConcurrentIdenticalRequests: 50 clients send the same request
// with the same idempotency key at once, on each backend. Exactly one of
// them does the work (one cluster, one CREATE job, one audit event, the
// key completed with its response) and all 50 get the same status and a
// byte-identical body: the other 49 are replays of the stored response.
func TestFiftyConcurrentIdenticalRequests(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		srv := httptest.NewServer(NewHandler(s, nil))
		defer srv.Close()
		const n = 50
		replies := postConcurrently(t, srv, n, "fifty", "carol", body("fifty"))

		fresh := 0
		for i, r := range replies {
			if r.err != nil {
				t.Fatalf("request %d: %v", i, r.err)
			}
			if r.status != http.StatusCreated || !bytes.Equal(r.body, replies[0].body) {
				t.Errorf("request %d: %d %q, want 201 %q", i, r.status, r.body, replies[0].body)
			}
			if !r.replayed {
				fresh++
			}
		}
		if fresh != 1 {
			t.Errorf("%d responses were not replays, want exactly 1", fresh)
		}
		created := decode[CreateResponse](t, post(NewHandler(s, nil), "fifty", "carol", body("fifty")))
		if created.ClusterID == "" {
			t.Fatal("a later replay names no cluster")
		}

		if got := clusterCount(t, s); got != 1 {
			t.Errorf("%d clusters created, want 1", got)
		}
		_, jobs, err := s.Jobs.List(t.Context(), store.JobFilters{Limit: 1})
		if err != nil || jobs != 1 {
			t.Errorf("%d jobs (%v), want 1", jobs, err)
		}
		events, _, err := s.Audit.List(t.Context(), store.AuditFilters{ClusterID: &created.ClusterID})
		if err != nil || len(events) != 1 {
			t.Errorf("%d audit events (%v), want 1", len(events), err)
		}
		key, err := s.Idempotency.Get(t.Context(), "carol", "fifty")
		if err != nil || !key.Completed() || *key.ResponseStatusCode != http.StatusCreated ||
			!bytes.Equal(key.ResponseBody, replies[0].body) {
			t.Errorf("idempotency key %+v (%v), want completed with the 201 body %q", key, err, replies[0].body)
		}
	})
}
