package keyring

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Static is a Keyring whose keys are fixed when it is made: one primary
// that seals, and any number of others that only open. It does no I/O, is
// immutable, and is safe for concurrent use. It prints as its key IDs,
// never key material.
type Static struct {
	primary *Key
	keys    map[string]*Key
}

// NewStatic returns a keyring that seals with primary and opens values
// sealed with primary or any of others. Two keys with the same ID, or a
// nil key, are refused.
func NewStatic(primary *Key, others ...*Key) (*Static, error) {
	s := &Static{primary: primary, keys: make(map[string]*Key, 1+len(others))}
	for _, k := range append([]*Key{primary}, others...) {
		if k == nil || k.aead == nil {
			return nil, fmt.Errorf("%w: nil or zero key", ErrInvalidArgument)
		}
		if _, dup := s.keys[k.id]; dup {
			return nil, fmt.Errorf("%w: two keys with ID %q", ErrInvalidArgument, k.id)
		}
		s.keys[k.id] = k
	}
	return s, nil
}

// ParseStatic builds a Static keyring from its text form, as an
// environment variable or a file holds it: comma-separated entries
// "id:base64secret", where base64secret is the standard (padded) base64
// encoding of SecretSize bytes, e.g. "k2:<44 chars>,k1:<44 chars>". The
// first entry is the primary; the others only open. Spaces and newlines
// around entries are ignored. Errors name the entry's position and, once
// it has been validated, its key ID, but never repeat the text of a
// secret.
func ParseStatic(spec string) (*Static, error) {
	var keys []*Key
	for i, entry := range strings.Split(spec, ",") {
		id, encoded, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok {
			return nil, fmt.Errorf("%w: keyring entry %d: want id:base64secret", ErrInvalidArgument, i+1)
		}
		id = strings.TrimSpace(id)
		if err := validateKeyID(id); err != nil {
			return nil, fmt.Errorf("keyring entry %d: %w", i+1, err)
		}
		secret, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(encoded))
		if err != nil {
			// err names a byte offset, never the input.
			return nil, fmt.Errorf("%w: keyring entry %d, key %q: secret is not standard base64: %w",
				ErrInvalidArgument, i+1, id, err)
		}
		k, err := NewKey(id, secret)
		clear(secret)
		if err != nil {
			return nil, fmt.Errorf("keyring entry %d: %w", i+1, err)
		}
		keys = append(keys, k)
	}
	return NewStatic(keys[0], keys[1:]...)
}

// Primary returns the key Static seals with.
func (s Static) Primary(context.Context) (*Key, error) { return s.primary, nil }

// Key returns the key whose ID is id, or an error matching ErrKeyNotFound.
func (s Static) Key(_ context.Context, id string) (*Key, error) {
	if k, ok := s.keys[id]; ok {
		return k, nil
	}
	return nil, ErrKeyNotFound
}

// String returns "keyring.Static(primary k2; k1 k2)": the primary's ID,
// then every key's ID in order.
func (s Static) String() string {
	if s.primary == nil {
		return "keyring.Static(empty)"
	}
	ids := make([]string, 0, len(s.keys))
	for id := range s.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return "keyring.Static(primary " + s.primary.id + "; " + strings.Join(ids, " ") + ")"
}

// Format prints String for every verb, so no verb reaches the keys.
func (s Static) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }
