package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

func (s executor) AuditInsert(ctx context.Context, e *store.AuditEvent) error {
	return s.via.write(ctx, func(v *dbView) error { return v.insertAudit(e, s.b.now()) })
}

// insertAudit is AuditInsert's write at now.
func (v *dbView) insertAudit(e *store.AuditEvent, now time.Time) error {
	r := cloneAudit(e)
	r.CreatedAt = now
	if v.audit.get(r.ID) != nil {
		return failedStatement(fmt.Errorf("audit event %s: id exists: %w", r.ID, store.ErrConflict))
	}
	v.audit.put(r.ID, r)
	e.CreatedAt = now
	return nil
}

// newestFirst is the one audit order: (CreatedAt, ID) descending.
func newestFirst(a, b *store.AuditEvent) int {
	return byTimeID(a.CreatedAt, b.CreatedAt, a.ID, b.ID, true)
}

// matchAudit returns the events passing f (and keep, when not nil).
func (v *dbView) matchAudit(f *store.AuditFilters, keep func(*store.AuditEvent) bool) []*store.AuditEvent {
	eq := func(p, want *string) bool { return want == nil || p != nil && *p == *want }
	var since, until time.Time
	if f.Since != nil {
		since = utc(*f.Since)
	}
	if f.Until != nil {
		until = utc(*f.Until)
	}
	var out []*store.AuditEvent
	for _, e := range v.audit.all() {
		if (f.Actor == nil || e.Actor == *f.Actor) && eq(e.TargetClusterID, f.ClusterID) &&
			eq(e.TargetJobID, f.JobID) && (f.Action == nil || e.Action == *f.Action) &&
			(f.Status == nil || e.Status == *f.Status) &&
			(f.Since == nil || !e.CreatedAt.Before(since)) && (f.Until == nil || e.CreatedAt.Before(until)) &&
			(keep == nil || keep(e)) {
			out = append(out, e)
		}
	}
	return out
}

func (s executor) AuditList(ctx context.Context, f store.AuditFilters) ([]*store.AuditEvent, int, error) {
	var out []*store.AuditEvent
	var total int
	err := s.via.read(ctx, func(v *dbView) error {
		rows := v.matchAudit(&f, nil)
		total = len(rows)
		out = cloneAll(window(rows, newestFirst, f.Offset, store.EffectiveLimit(f.Limit)), cloneAudit)
		return nil
	})
	return out, total, err
}

func (s executor) AuditListAfter(ctx context.Context, f store.AuditFilters, cursor string) (store.Page[*store.AuditEvent], error) {
	var page store.Page[*store.AuditEvent]
	err := s.via.read(ctx, func(v *dbView) error {
		at, id, ok, err := timeCursor(cursor, store.AuditSort, true)
		if err != nil {
			return err
		}
		var keep func(*store.AuditEvent) bool
		if ok {
			p := &store.AuditEvent{ID: id, CreatedAt: at}
			keep = func(e *store.AuditEvent) bool { return newestFirst(e, p) > 0 }
		}
		rows, next := keyset(v.matchAudit(&f, keep), newestFirst, store.EffectiveLimit(f.Limit), func(e *store.AuditEvent) store.Cursor {
			return store.Cursor{Sort: store.AuditSort, Desc: true, Key: store.TimeKey(e.CreatedAt), ID: e.ID}
		})
		page = store.Page[*store.AuditEvent]{Items: cloneAll(rows, cloneAudit), Next: next}
		return nil
	})
	return page, err
}

func (s executor) AuditPurge(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	before = utc(before)
	err := s.via.write(ctx, func(v *dbView) error {
		for id, e := range v.audit.all() {
			if e.CreatedAt.Before(before) {
				v.audit.del(id)
				n++
			}
		}
		return nil
	})
	return n, err
}
