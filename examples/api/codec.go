package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// ErrorResponse is the body of every error response.
type ErrorResponse struct {
	Error string `json:"error"`
	// Field names the offending input on a 400: a JSON field of the body,
	// or a header (Idempotency-Key, X-Actor).
	Field string `json:"field,omitempty"`
}

// ClusterView is the body of GET /clusters/{id}.
type ClusterView struct {
	ID          string              `json:"id"`
	Name        string              `json:"name"`
	Platform    store.Platform      `json:"platform"`
	ClusterType store.ClusterType   `json:"cluster_type"`
	Version     string              `json:"version"`
	Profile     string              `json:"profile"`
	Region      string              `json:"region"`
	BaseDomain  *string             `json:"base_domain,omitempty"`
	Owner       string              `json:"owner"`
	Team        string              `json:"team"`
	CostCenter  string              `json:"cost_center"`
	Status      store.ClusterStatus `json:"status"`
	RequestedBy string              `json:"requested_by"`
	TTLHours    int                 `json:"ttl_hours"`
	RequestTags map[string]string   `json:"request_tags,omitempty"`
	CreatedAt   time.Time           `json:"created_at"`
	UpdatedAt   time.Time           `json:"updated_at"`
}

// clusterView returns the API view of c.
func clusterView(c *store.Cluster) ClusterView {
	return ClusterView{ID: c.ID, Name: c.Name, Platform: c.Platform, ClusterType: c.ClusterType,
		Version: c.Version, Profile: c.Profile, Region: c.Region, BaseDomain: c.BaseDomain,
		Owner: c.Owner, Team: c.Team, CostCenter: c.CostCenter, Status: c.Status,
		RequestedBy: c.RequestedBy, TTLHours: c.TTLHours, RequestTags: c.RequestTags,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// readBody reads the request body, at most maxBodyBytes of it.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return b, nil
}

// decodeCreate parses a CreateRequest strictly: unknown fields, a wrong
// type or trailing data are refused with a *store.ValidationError naming
// the field, like the store's own validation.
func decodeCreate(body []byte) (*CreateRequest, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req CreateRequest
	err := dec.Decode(&req)
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		return nil, &store.ValidationError{Field: "cluster." + typeErr.Field, Reason: "must be a JSON " + typeErr.Type.Kind().String()}
	case err != nil && strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return nil, &store.ValidationError{Field: "cluster." + name, Reason: "unknown field"}
	case err != nil:
		return nil, &store.ValidationError{Field: "body", Reason: "not a JSON object: " + err.Error()}
	case dec.More():
		return nil, &store.ValidationError{Field: "body", Reason: "data after the JSON object"}
	}
	return &req, nil
}

// apiField maps a *store.ValidationError's field to what the client sent:
// a JSON field of the body or a header.
func apiField(field string) string {
	switch field {
	case "key":
		return HeaderIdempotencyKey
	case "scope", "cluster.requested_by", "event.actor":
		return HeaderActor
	}
	return strings.TrimPrefix(field, "cluster.")
}

// fail writes the response for err, mapping the store's errors to statuses.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ve *store.ValidationError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, err.Error(), "body")
	case errors.As(err, &ve):
		writeError(w, http.StatusBadRequest, ve.Error(), apiField(ve.Field))
	case errors.Is(err, store.ErrIdempotencyMismatch):
		writeError(w, http.StatusUnprocessableEntity, "this Idempotency-Key was used for a different request", "")
	case errors.Is(err, errInFlight):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusConflict, errInFlight.Error(), "")
	case errors.Is(err, store.ErrSerialization):
		// WithTx retried and lost every time: a transient overload.
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "too much contention; retry", "")
	case errors.Is(err, store.ErrUnavailable):
		// Unreachable, restarting or failing over: it passes by itself.
		// A request with an Idempotency-Key is safe to send again, even
		// when the failure came after its write (ErrCommitUnknown too).
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "the database is unavailable; retry", "")
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, "an active cluster with this name, platform and base domain exists", "")
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not found", "")
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads a response.
	default:
		h.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		writeError(w, http.StatusInternalServerError, "internal error", "")
	}
}

// writeError writes an ErrorResponse.
func writeError(w http.ResponseWriter, status int, msg, field string) {
	writeJSON(w, status, ErrorResponse{Error: msg, Field: field})
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
