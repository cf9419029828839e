package keyring

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"io"
)

// Keyring supplies the keys values are sealed and opened with. The
// application implements it over wherever its keys live (a KMS, Vault
// transit, a file); Static is the implementation for tests and simple
// deployments.
//
// A Keyring hands out keys, it does not encrypt: Seal and Open do the
// cryptography in process with the *Key it returns, so a remote key
// service is asked once per key (to unwrap a data key), not once per field
// per row. Both methods are called for every Seal and Open, so an
// implementation that does I/O caches what it obtained, and must be safe
// for concurrent use. Errors it returns must not carry key material.
type Keyring interface {
	// Primary returns the key new values are sealed with. Exactly one key
	// is primary at a time; changing it starts a rotation.
	Primary(ctx context.Context) (*Key, error)
	// Key returns the key whose ID is id, to open a value sealed with it.
	// When the keyring has no such key it returns an error matching
	// ErrKeyNotFound; any other error (a key service that cannot be
	// reached) is passed on to the caller of Open.
	Key(ctx context.Context, id string) (*Key, error)
}

// SecretSize is the size in bytes of the secret a Key is made from: a
// 256-bit key, random (crypto/rand, `head -c 32 /dev/urandom`, or the data
// key a KMS generates).
const SecretSize = 32

// MaxKeyIDLen bounds a key ID. It is shorter than any text encoding of a
// secret (43 or 44 characters in base64, 64 in hex), so a key and its ID swapped
// by mistake are refused instead of the key being written into every
// sealed value.
const MaxKeyIDLen = 32

// checkSize is the size of a key's check value in a sealed value.
const checkSize = 4

// HKDF labels: the secret is only input keying material; the AES key and
// the check value are derived from it under separate labels, so neither
// reveals anything about the other.
const (
	infoAESKey   = "ocpstore keyring v1 aes-256-gcm key"
	infoKeyCheck = "ocpstore keyring v1 key check value"
)

// Key is one key of a keyring: its ID (recorded in every value it seals),
// the AES-256-GCM AEAD derived from its secret, and a short check value
// that tells a wrong key from a tampered value. It holds no copy of the
// secret, and prints as its ID only, with every fmt verb. A Key is
// immutable and safe for concurrent use; build it once with NewKey and
// reuse it.
type Key struct {
	id    string
	check [checkSize]byte
	aead  cipher.AEAD
}

// NewKey makes the key called id from secret, which must be SecretSize
// bytes and not all zero (an unfilled buffer). id must be 1 to
// MaxKeyIDLen characters of A-Z a-z 0-9 . _ - (it is written in clear
// into every sealed value, and rotation selects rows by it). The secret is
// not retained; the caller may clear it afterwards.
func NewKey(id string, secret []byte) (*Key, error) {
	if err := validateKeyID(id); err != nil {
		return nil, err
	}
	if len(secret) != SecretSize {
		return nil, fmt.Errorf("%w: key %q: secret is %d bytes, want %d", ErrInvalidArgument, id, len(secret), SecretSize)
	}
	if allZero(secret) {
		return nil, fmt.Errorf("%w: key %q: secret is all zero bytes", ErrInvalidArgument, id)
	}
	aesKey, err := hkdf.Key(sha256.New, secret, nil, infoAESKey, SecretSize)
	if err != nil {
		return nil, fmt.Errorf("key %q: derive the AES key: %w", id, err)
	}
	defer clear(aesKey)
	check, err := hkdf.Key(sha256.New, secret, nil, infoKeyCheck, checkSize)
	if err != nil {
		return nil, fmt.Errorf("key %q: derive the check value: %w", id, err)
	}
	block, err := aes.NewCipher(aesKey)
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", id, err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", id, err)
	}
	k := &Key{id: id, aead: aead}
	copy(k.check[:], check)
	return k, nil
}

// Key's methods have value receivers, so a Key copied out of its pointer
// prints the same way.

// ID returns the key's ID.
func (k Key) ID() string { return k.id }

// String returns "keyring.Key(id)": never key material.
func (k Key) String() string { return "keyring.Key(" + k.id + ")" }

// Format prints String for every verb (%v, %+v, %#v, %s, %x, %d, ...), so
// no verb reaches the fields.
func (k Key) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// validateKeyID refuses an ID that is empty, too long or has a character
// outside A-Z a-z 0-9 . _ -. The message does not repeat the ID: a
// refused ID may be a misplaced secret.
func validateKeyID(id string) error {
	if id == "" || len(id) > MaxKeyIDLen {
		return fmt.Errorf("%w: key ID must be 1 to %d characters, got %d", ErrInvalidArgument, MaxKeyIDLen, len(id))
	}
	for i := 0; i < len(id); i++ {
		if !keyIDChar(id[i]) {
			return fmt.Errorf("%w: key ID character %d is not one of A-Z a-z 0-9 . _ -", ErrInvalidArgument, i+1)
		}
	}
	return nil
}

// keyIDChar reports whether c may appear in a key ID.
func keyIDChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}

// allZero reports whether b holds only zero bytes.
func allZero(b []byte) bool {
	var acc byte
	for _, c := range b {
		acc |= c
	}
	return acc == 0
}
