package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// Headers the API reads and writes.
const (
	// HeaderIdempotencyKey makes POST /clusters safe to retry: the first
	// request with a key does the work and stores its response; a retry
	// with the same key and body gets the stored response again.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderActor names the caller. A real deployment takes it from
	// authentication; it is the idempotency keys' scope, so two callers
	// never collide on each other's keys.
	HeaderActor = "X-Actor"
	// HeaderReplayed is "true" on a response replayed from an idempotency key.
	HeaderReplayed = "Idempotent-Replayed"
)

// Defaults of the handler.
const (
	// DefaultActor is the actor of a request without HeaderActor.
	DefaultActor = "anonymous"
	// DefaultKeyTTL is how long an idempotency key is kept.
	DefaultKeyTTL = 24 * time.Hour
	// maxBodyBytes bounds a request body.
	maxBodyBytes = 1 << 20
)

// ActionClusterCreate is the audit action of a cluster request.
const ActionClusterCreate = "cluster.create"

// errInFlight: the key is reserved by a request that has not completed.
// Reserve waits for the reserving transaction to end, and a transaction
// that ends without completing the key rolls its reservation back, so this
// only happens if the key was reserved by other means; it is answered 409
// so the client retries later.
var errInFlight = errors.New("a request with this idempotency key is still in progress")

// Handler serves the clusters API:
//
//	POST /clusters        create a cluster and its CREATE job (idempotent with Idempotency-Key)
//	GET  /clusters/{id}   read a cluster
type Handler struct {
	s      *store.Store
	keyTTL time.Duration
	log    *slog.Logger
	mux    *http.ServeMux
}

// NewHandler returns the API on s. Errors the API cannot attribute to the
// request (500s) are logged to log (slog.Default() when nil).
func NewHandler(s *store.Store, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{s: s, keyTTL: DefaultKeyTTL, log: log, mux: http.NewServeMux()}
	h.mux.HandleFunc("POST /clusters", h.createCluster)
	h.mux.HandleFunc("GET /clusters/{id}", h.getCluster)
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// CreateRequest is the body of POST /clusters. Field names are the store's
// column names, so a *store.ValidationError's field ("cluster.ttl_hours")
// names the JSON field ("ttl_hours") too.
type CreateRequest struct {
	Name        string            `json:"name"`
	Platform    store.Platform    `json:"platform"`
	ClusterType store.ClusterType `json:"cluster_type,omitempty"`
	Version     string            `json:"version"`
	Profile     string            `json:"profile"`
	Region      string            `json:"region"`
	BaseDomain  *string           `json:"base_domain,omitempty"`
	Owner       string            `json:"owner"`
	Team        string            `json:"team"`
	CostCenter  string            `json:"cost_center"`
	TTLHours    int               `json:"ttl_hours"`
	RequestTags map[string]string `json:"request_tags,omitempty"`
}

// CreateResponse is the body of a 201 from POST /clusters.
type CreateResponse struct {
	ClusterID string              `json:"cluster_id"`
	JobID     string              `json:"job_id"`
	Status    store.ClusterStatus `json:"status"`
}

// response is a status and body about to be written.
type response struct {
	status   int
	body     []byte
	replayed bool
}

// createCluster handles POST /clusters. In ONE transaction it reserves the
// idempotency key (scope: the actor; request hash: SHA-256 of the method,
// path and body), creates the cluster and its CREATE job, records the audit
// event and completes the key with the response. So the key is stored
// exactly when the cluster is: a request that fails (a 400, a 409 for a
// taken name) rolls back and leaves the key free for a corrected retry.
//
// A retry of a completed request gets the stored status and body byte for
// byte, with Idempotent-Replayed: true. The same key with a different body
// is 422. Concurrent requests with one key are serialized by Reserve: the
// first does the work, the others wait for its transaction and replay it.
func (h *Handler) createCluster(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req, err := decodeCreate(body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	actor := r.Header.Get(HeaderActor)
	if actor == "" {
		actor = DefaultActor
	}
	key := r.Header.Get(HeaderIdempotencyKey)
	ctx := r.Context()

	var resp response
	err = h.s.WithTx(ctx, func(ctx context.Context, tx *store.Store) error {
		resp = response{} // fn may run again after a serialization failure
		if key != "" {
			rec, created, err := tx.Idempotency.Reserve(ctx, store.IdempotencyReservation{
				Scope: actor, Key: key, RequestHash: requestHash(r, body), TTL: h.keyTTL})
			if err != nil {
				return err
			}
			if !created {
				if !rec.Completed() {
					return errInFlight
				}
				resp = response{status: *rec.ResponseStatusCode, body: rec.ResponseBody, replayed: true}
				return nil
			}
		}
		out, err := create(ctx, tx, req, actor, r)
		if err != nil {
			return err
		}
		resp = response{status: http.StatusCreated, body: out}
		if key != "" {
			_, err = tx.Idempotency.Complete(ctx, actor, key, resp.status, resp.body)
		}
		return err
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if resp.replayed {
		w.Header().Set(HeaderReplayed, "true")
	}
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

// create writes the cluster, its CREATE job and the audit event through tx
// and returns the response body.
func create(ctx context.Context, tx *store.Store, req *CreateRequest, actor string, r *http.Request) ([]byte, error) {
	c := &store.Cluster{Name: req.Name, Platform: req.Platform, ClusterType: req.ClusterType,
		Version: req.Version, Profile: req.Profile, Region: req.Region, BaseDomain: req.BaseDomain,
		Owner: req.Owner, Team: req.Team, CostCenter: req.CostCenter, RequestedBy: actor,
		TTLHours: req.TTLHours, RequestTags: req.RequestTags}
	if err := tx.Clusters.Create(ctx, c); err != nil {
		return nil, err
	}
	j := &store.Job{ClusterID: c.ID, JobType: store.JobCreate}
	if err := tx.Jobs.Create(ctx, j); err != nil {
		return nil, err
	}
	ev := &store.AuditEvent{Actor: actor, Action: ActionClusterCreate, TargetClusterID: &c.ID,
		TargetJobID: &j.ID, Status: store.AuditSuccess, IPAddress: clientIP(r)}
	if ua := r.UserAgent(); ua != "" {
		ev.UserAgent = &ua
	}
	if key := r.Header.Get(HeaderIdempotencyKey); key != "" {
		ev.Metadata = map[string]string{"idempotency_key": key}
	}
	if err := tx.Audit.Log(ctx, ev); err != nil {
		return nil, err
	}
	return json.Marshal(CreateResponse{ClusterID: c.ID, JobID: j.ID, Status: c.Status})
}

// getCluster handles GET /clusters/{id}.
func (h *Handler) getCluster(w http.ResponseWriter, r *http.Request) {
	c, err := h.s.Clusters.GetByID(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, clusterView(c))
}

// requestHash identifies a request for its idempotency key: the hex SHA-256
// of method, path and body, so a key reused for another request, or
// another endpoint, is refused.
func requestHash(r *http.Request, body []byte) string {
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// clientIP returns the request's peer address, or nil.
func clientIP(r *http.Request) *netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return nil
	}
	a := ap.Addr().Unmap().WithZone("") // the store refuses zones: inet cannot keep them
	return &a
}
