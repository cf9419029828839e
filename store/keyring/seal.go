package keyring

import (
	"bytes"
	"context"
	"fmt"
	"strings"
)

// Seal encrypts plaintext for the place aad names with kr's primary key,
// and returns the sealed value as text for a TEXT column. Sealing the same
// plain text twice gives different values (random nonces). A plaintext
// that already starts with Marker is refused with ErrInvalidArgument: it
// is a value sealed twice by mistake, and opening it would return a
// sealed value as if it were the secret.
func Seal(ctx context.Context, kr Keyring, aad AAD, plaintext string) (string, error) {
	if err := aad.validate(); err != nil {
		return "", &Error{Op: "seal", Err: err}
	}
	if strings.HasPrefix(plaintext, Marker) {
		return "", &Error{Op: "seal", Err: fmt.Errorf("%w: value is already sealed", ErrInvalidArgument)}
	}
	key, err := primaryKey(ctx, kr)
	if err != nil {
		return "", err
	}
	return key.seal(aad, plaintext), nil
}

// Open returns the plain text of a value Seal returned for the same aad,
// with the key the value names. It fails, returning "", with an *Error
// naming that key ID and matching:
//   - ErrNotSealed for plain text (see the package doc on legacy rows),
//   - ErrMalformed for a damaged value or an unknown format version,
//   - ErrKeyNotFound when kr has no key with the value's ID,
//   - ErrWrongKey when kr's key with that ID did not seal it,
//   - ErrMisplaced when it was sealed for another table, row or field,
//   - ErrTampered when it was modified after sealing,
//   - or the keyring's own error when the key could not be obtained.
//
// A damaged header can be reported as any of the first five; what holds
// for every input is that Open returns a value only for what Seal sealed
// for aad with a key kr holds.
func Open(ctx context.Context, kr Keyring, aad AAD, stored string) (string, error) {
	if err := aad.validate(); err != nil {
		return "", &Error{Op: "open", Err: err}
	}
	id, payload, err := parse(stored)
	if err != nil {
		return "", &Error{Op: "open", KeyID: id, Err: err}
	}
	key, err := kr.Key(ctx, id)
	if err == nil && (key == nil || key.aead == nil || key.id != id) {
		err = fmt.Errorf("%w: the keyring returned %v for it", ErrKeyNotFound, key)
	}
	if err != nil {
		return "", &Error{Op: "open", KeyID: id, Err: err}
	}
	plaintext, err := key.open(aad, payload)
	if err != nil {
		return "", &Error{Op: "open", KeyID: id, Err: err}
	}
	return plaintext, nil
}

// Reseal opens stored (as Open does, with the same errors) and, unless it
// is already sealed with kr's primary key in this build's format, seals
// its plain text again with the primary for the same aad. It returns the
// value to store and whether it differs from stored. This is the step of a
// rotation; plain text is refused with ErrNotSealed like in Open, so a
// rotation seals a legacy value only when its caller decides to (with
// Seal).
func Reseal(ctx context.Context, kr Keyring, aad AAD, stored string) (string, bool, error) {
	plaintext, err := Open(ctx, kr, aad, stored)
	if err != nil {
		return "", false, err
	}
	key, err := primaryKey(ctx, kr)
	if err != nil {
		return "", false, err
	}
	if strings.HasPrefix(stored, KeyPrefix(key.id)) {
		return stored, false, nil
	}
	return key.seal(aad, plaintext), true, nil
}

// primaryKey asks kr for its primary and refuses a nil or zero key.
func primaryKey(ctx context.Context, kr Keyring) (*Key, error) {
	key, err := kr.Primary(ctx)
	if err == nil && (key == nil || key.aead == nil) {
		err = fmt.Errorf("%w: the keyring returned no primary key", ErrKeyNotFound)
	}
	if err != nil {
		return nil, &Error{Op: "seal", Err: err}
	}
	return key, nil
}

// seal encrypts plaintext for aad and encodes the result.
func (k Key) seal(aad AAD, plaintext string) string {
	header := KeyPrefix(k.id)
	additional, digest := additionalData(header, k.check, aad)
	payload := make([]byte, headSize, headSize+len(plaintext)+k.aead.Overhead())
	copy(payload, digest[:])
	copy(payload[digestSize:], k.check[:])
	payload = k.aead.Seal(payload, nil, []byte(plaintext), additional)
	out := make([]byte, 0, len(header)+payloadEncoding.EncodedLen(len(payload)))
	out = append(out, header...)
	out = payloadEncoding.AppendEncode(out, payload)
	return string(out)
}

// open checks that payload was sealed with k for aad and decrypts it. The
// check value and the digest (neither secret) are compared first only to
// name the failure; authentication is GCM's, over all of it.
func (k Key) open(aad AAD, payload []byte) (string, error) {
	if !bytes.Equal(payload[digestSize:headSize], k.check[:]) {
		return "", ErrWrongKey
	}
	additional, digest := additionalData(KeyPrefix(k.id), k.check, aad)
	if !bytes.Equal(payload[:digestSize], digest[:]) {
		return "", ErrMisplaced
	}
	plaintext, err := k.aead.Open(nil, nil, payload[headSize:], additional)
	if err != nil {
		return "", ErrTampered
	}
	return string(plaintext), nil
}
