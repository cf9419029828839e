package keyring

import (
	"errors"
	"strconv"
)

// Sentinel errors. Every error Seal, Open and Reseal return is an *Error
// whose chain holds one of them (or the keyring's own error); check them
// with errors.Is. Messages never carry a value, plain text or key
// material, so they are safe to log.
var (
	// ErrNotSealed: the stored value does not start with Marker, so it is
	// plain text (a row written before encryption existed, or one planted
	// by someone who can write the database). Open and Reseal never pass
	// it off as decrypted; see the package doc for the legacy window.
	ErrNotSealed = errors.New("value is not sealed (plain text)")
	// ErrMalformed: the value starts with Marker but is not a sealed value
	// this build can read: damaged, truncated, or of a newer format
	// version.
	ErrMalformed = errors.New("not a sealed value this build can read")
	// ErrKeyNotFound: the keyring has no key with the value's key ID (it
	// was never configured here, or was removed before every value sealed
	// with it was resealed). A Keyring reports an unknown ID with it.
	ErrKeyNotFound = errors.New("no key with this ID in the keyring")
	// ErrWrongKey: the keyring has a key with the value's key ID, but not
	// the key that sealed the value (the key behind the ID was replaced,
	// e.g. regenerated under the same name).
	ErrWrongKey = errors.New("the keyring's key with this ID is not the key that sealed the value")
	// ErrMisplaced: the value was sealed for another table, row or field
	// (copied from another cluster's row or another column).
	ErrMisplaced = errors.New("value was sealed for another table, row or field")
	// ErrTampered: the value names a known key and the right place but
	// fails authentication: it was modified after sealing.
	ErrTampered = errors.New("value failed authentication (modified after sealing)")
	// ErrInvalidArgument: a key, key ID, keyring spec, AAD or plain text
	// given to this package cannot be used. Nothing was sealed.
	ErrInvalidArgument = errors.New("invalid argument")
)

// Error is the error of a failed Seal, Open or Reseal: the operation, the
// key ID involved (when known) and the cause. The caller adds the table,
// row and field; the key ID is what an operator needs to fix a keyring.
type Error struct {
	Op    string // "seal" or "open"
	KeyID string // the value's key ID (open) or the primary's (seal); "" when unknown
	Err   error  // a sentinel of this package, or the keyring's error
}

// Error reads "keyring: open with key "k1": <cause>".
func (e *Error) Error() string {
	if e.KeyID == "" {
		return "keyring: " + e.Op + ": " + e.Err.Error()
	}
	return "keyring: " + e.Op + " with key " + strconv.Quote(e.KeyID) + ": " + e.Err.Error()
}

// Unwrap returns the cause, so errors.Is finds the sentinel.
func (e *Error) Unwrap() error { return e.Err }
