package store_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ocpctl/ocpstore/store"
)

// requireCursorInvalid fails t unless err is ErrInvalidArgument for the
// field "cursor".
func requireCursorInvalid(t *testing.T, err error, what string) {
	t.Helper()
	var ve *store.ValidationError
	if !errors.Is(err, store.ErrInvalidArgument) || !errors.As(err, &ve) || ve.Field != "cursor" {
		t.Fatalf("%s: got %v, want ErrInvalidArgument for the field \"cursor\"", what, err)
	}
}

// FuzzDecodeCursor feeds DecodeCursor arbitrary strings: it must never
// panic and fail only with ErrInvalidArgument for "cursor". A cursor it
// accepts belongs to the sort and direction asked for, has an ID, holds
// only strings a column can store, and re-encodes to a cursor that
// decodes to the same; its key, read as a time key, is either refused the
// same way or a time that round-trips through TimeKey.
func FuzzDecodeCursor(f *testing.F) {
	enc := func(c store.Cursor) string { return store.EncodeCursor(c) }
	raw := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, seed := range []struct {
		cursor, sort string
		desc         bool
	}{
		{enc(store.Cursor{Sort: "created_at", Key: store.TimeKey(time.Unix(1700000000, 123456000)), ID: "clu_X"}), "created_at", false},
		{enc(store.Cursor{Sort: "name", Desc: true, Key: "'; DROP TABLE clusters; --", ID: "clu_X"}), "name", true},
		{enc(store.Cursor{Sort: "name", Key: "%", ID: "clu_X"}), "created_at", false},
		{enc(store.Cursor{Sort: "created_at", Key: "9223372036854775807", ID: "x"}), "created_at", false},
		{enc(store.Cursor{Sort: "created_at", Key: "-62135596800000001", ID: "x"}), "created_at", false},
		{enc(store.Cursor{Sort: "created_at", Key: "1e3", ID: "x"}), "created_at", false},
		{raw(`{"s":"created_at","k":"1","i":"\u0000"}`), "created_at", false},
		{raw(`{"s":"created_at","k":"1","i":"x","i":"y","S":"name"}`), "name", false},
		{raw(`{"s":"created_at","k":1,"i":"x"}`), "created_at", false},
		{raw(`{"s":"created_at","k":"1","i":"` + "\xff" + `"}`), "created_at", false},
		{raw(`null`), "", false},
		{raw(`{}`), "", false},
		{"", "", false},
		{"%%%", "created_at", false},
		{"====", "created_at", false},
		{"e30=", "", false},
	} {
		f.Add(seed.cursor, seed.sort, seed.desc)
	}
	f.Fuzz(func(t *testing.T, cursor, sort string, desc bool) {
		c, err := store.DecodeCursor(cursor, sort, desc)
		if err != nil {
			requireCursorInvalid(t, err, "decode")
			return
		}
		if c.Sort != sort || c.Desc != desc || c.ID == "" {
			t.Fatalf("decoded %+v for sort %q desc %v", c, sort, desc)
		}
		for _, s := range []string{c.Key, c.ID} {
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				t.Fatalf("decoded %+v holds a string no column can store", c)
			}
		}
		again, err := store.DecodeCursor(store.EncodeCursor(c), sort, desc)
		if err != nil || again != c {
			t.Fatalf("re-encoded %+v decodes to %+v, %v", c, again, err)
		}
		at, err := store.ParseTimeKey(c.Key)
		if err != nil {
			requireCursorInvalid(t, err, "time key")
			return
		}
		if at.Location() != time.UTC || at.Year() < 1 || at.Year() > 9999 {
			t.Fatalf("time key %q parsed to %v", c.Key, at)
		}
		if back, err := store.ParseTimeKey(store.TimeKey(at)); err != nil || !back.Equal(at) {
			t.Fatalf("time %v: key %q parses back to %v, %v", at, store.TimeKey(at), back, err)
		}
	})
}

// FuzzEncodeCursor encodes cursors of fuzzed fields: decoding with the
// same sort and direction must give them back exactly when they are
// strings a column can hold (the ID not empty), and refuse them for
// "cursor" otherwise; with another sort or direction it must refuse.
func FuzzEncodeCursor(f *testing.F) {
	f.Add("created_at", false, "1700000000123456", "clu_X", "name")
	f.Add("name", true, "a\x00b", "clu_X", "name")
	f.Add("name", false, "é🚀", "", "created_at")
	f.Add("created_at", true, "1", "\xff", "created_at")
	f.Fuzz(func(t *testing.T, sort string, desc bool, key, id, otherSort string) {
		c := store.Cursor{Sort: sort, Desc: desc, Key: key, ID: id}
		s := store.EncodeCursor(c)
		if strings.ContainsAny(s, "+/=") {
			t.Fatalf("cursor %q is not URL-safe unpadded base64", s)
		}
		got, err := store.DecodeCursor(s, sort, desc)
		storable := func(v string, max int) bool {
			return utf8.ValidString(v) && !strings.ContainsRune(v, 0) && len(v) <= max
		}
		switch {
		case err != nil:
			requireCursorInvalid(t, err, "decode")
		case got.ID == "" || !storable(got.ID, store.MaxIDLen) || !storable(got.Key, store.MaxNameLen):
			t.Fatalf("%+v decodes to the unstorable %+v", c, got)
		}
		// Valid fields come back exactly; JSON turns invalid UTF-8 into U+FFFD.
		if id != "" && storable(id, store.MaxIDLen) && storable(key, store.MaxNameLen) && utf8.ValidString(sort) &&
			(err != nil || got != c) {
			t.Fatalf("%+v decodes to %+v, %v", c, got, err)
		}
		if otherSort != sort && utf8.ValidString(sort) && utf8.ValidString(otherSort) {
			_, err := store.DecodeCursor(s, otherSort, desc)
			requireCursorInvalid(t, err, "decode for another sort")
		}
		_, err = store.DecodeCursor(s, sort, !desc)
		requireCursorInvalid(t, err, "decode for the other direction")
	})
}
