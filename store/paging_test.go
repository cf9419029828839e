package store

import (
	"errors"
	"testing"
	"time"
)

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 26, 7, 0, 0, 123456000, time.UTC)
	c := Cursor{Sort: "created_at", Desc: true, Key: TimeKey(at), ID: "clu_X"}
	got, err := DecodeCursor(EncodeCursor(c), "created_at", true)
	if err != nil || got != c {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	back, err := ParseTimeKey(got.Key)
	if err != nil || !back.Equal(at) {
		t.Fatalf("time key: %v, %v", back, err)
	}
}

func TestCursorRefusesMismatchAndGarbage(t *testing.T) {
	t.Parallel()
	c := EncodeCursor(Cursor{Sort: "name", Key: "a", ID: "clu_1"})
	for name, tc := range map[string]struct {
		cursor, sort string
		desc         bool
	}{
		"other sort":      {c, "created_at", false},
		"other direction": {c, "name", true},
		"not base64":      {"%%%", "name", false},
		"not json":        {"bm90IGpzb24", "name", false},
	} {
		_, err := DecodeCursor(tc.cursor, tc.sort, tc.desc)
		var ve *ValidationError
		if !errors.Is(err, ErrInvalidArgument) || !errors.As(err, &ve) || ve.Field != "cursor" {
			t.Errorf("%s: want invalid cursor, got %v", name, err)
		}
	}
}

func TestTimeOfDayAndWorkDays(t *testing.T) {
	t.Parallel()
	if s := NewTimeOfDay(9, 30).String(); s != "09:30:00" {
		t.Errorf("TimeOfDay string %q", s)
	}
	if TimeOfDay(24*time.Hour).Valid() || TimeOfDay(-1).Valid() {
		t.Error("out-of-day TimeOfDay must be invalid")
	}
	w := NewWorkDays(time.Monday, time.Friday)
	if !w.Has(time.Monday) || w.Has(time.Sunday) || !w.Valid() || WorkDays(128).Valid() {
		t.Errorf("WorkDays %b", w)
	}
}
