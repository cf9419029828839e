package keyring

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
)

// Marker starts every sealed value, whatever its format version. A stored
// value that does not start with it is plain text (ErrNotSealed); one that
// does is never taken for plain text, even when damaged (ErrMalformed).
const Marker = "ocpstore:enc:"

// versionPrefix starts every value sealed in the format this build
// writes: Marker, the version, then the key ID and a colon.
const versionPrefix = Marker + "v1:"

// A v1 sealed value is
//
//	ocpstore:enc:v1:<key ID>:<payload>
//
// with payload the strict unpadded base64url encoding of
//
//	binding digest (4) | key check (4) | nonce (12) | ciphertext | tag (16)
//
// The binding digest is the first 4 bytes of SHA-256 of the encoded AAD;
// it is not secret (the table, row and field are not) and only lets Open
// tell a misplaced value from a tampered one. The key check is the key's
// check value, telling a wrong key from a tampered value. The GCM
// additional data is the text header, the digest and the check, then the
// encoded AAD, so every byte of the stored value is authenticated.
const (
	digestSize = 4
	headSize   = digestSize + checkSize // bytes of payload before the GCM output
	gcmSize    = 12 + 16                // nonce and tag
)

// payloadEncoding encodes the payload. Strict, so a changed padding bit in
// the last character is refused rather than decoding to the same bytes.
var payloadEncoding = base64.RawURLEncoding.Strict()

// AAD says where a value is stored: it is bound to the value as GCM
// associated data, so a value sealed for one table, row and field opens
// only there. Row must be the row's stable natural key (for outputs, the
// cluster ID), not a surrogate key the store may replace. None of the
// three is secret: the digest of their encoding is stored in the value.
type AAD struct {
	Table string // e.g. "cluster_outputs"
	Row   string // e.g. the cluster ID
	Field string // e.g. "sa_token"
}

// aadDomain starts the encoding of an AAD, so it cannot be confused with
// any other use of the same key.
const aadDomain = "ocpstore keyring v1 aad\x00"

// validate refuses an AAD with an empty part: a value bound to nothing
// would open anywhere its other parts match.
func (a AAD) validate() error {
	if a.Table == "" || a.Row == "" || a.Field == "" {
		return fmt.Errorf("%w: AAD needs a table, a row and a field", ErrInvalidArgument)
	}
	return nil
}

// appendEncoded appends the unambiguous encoding of a (each part prefixed
// with its length, so "a","b:c" and "a:b","c" differ) to b.
func (a AAD) appendEncoded(b []byte) []byte {
	b = append(b, aadDomain...)
	for _, part := range [...]string{a.Table, a.Row, a.Field} {
		b = binary.AppendUvarint(b, uint64(len(part)))
		b = append(b, part...)
	}
	return b
}

// additionalData returns the GCM additional data of a value sealed for a
// with a key whose check value is check, under the text header: the
// header, the binding digest, the check, then the AAD's encoding. It also
// returns the digest, which the payload repeats.
func additionalData(header string, check [checkSize]byte, a AAD) (data []byte, digest [digestSize]byte) {
	size := len(header) + headSize + len(aadDomain) + 3*binary.MaxVarintLen64 + len(a.Table) + len(a.Row) + len(a.Field)
	data = make([]byte, len(header)+headSize, size)
	copy(data, header)
	data = a.appendEncoded(data)
	sum := sha256.Sum256(data[len(header)+headSize:])
	copy(digest[:], sum[:])
	copy(data[len(header):], digest[:])
	copy(data[len(header)+digestSize:], check[:])
	return data, digest
}

// KeyPrefix returns the text every value sealed with the key id in this
// build's format starts with. A value that does not start with the
// primary's KeyPrefix needs resealing, which a SQL rotation can select
// with NOT starts_with(column, prefix).
func KeyPrefix(id string) string { return versionPrefix + id + ":" }

// KeyID reports whether stored is sealed (starts with Marker) and, when
// its header is readable, the ID of the key it names. It reads only the
// header and does not authenticate the value: use it to pick values to
// reseal or to count them by key, and Open to trust them.
func KeyID(stored string) (id string, sealed bool) {
	id, _, _ = parseHeader(stored)
	return id, strings.HasPrefix(stored, Marker)
}

// parseHeader splits a stored value into the key ID its header names and
// its still encoded payload.
func parseHeader(stored string) (id, encoded string, err error) {
	rest, ok := strings.CutPrefix(stored, Marker)
	if !ok {
		return "", "", ErrNotSealed
	}
	rest, ok = strings.CutPrefix(rest, "v1:")
	if !ok {
		return "", "", fmt.Errorf("%w: unknown format version", ErrMalformed)
	}
	id, encoded, ok = strings.Cut(rest, ":")
	if !ok || validateKeyID(id) != nil {
		return "", "", fmt.Errorf("%w: no valid key ID", ErrMalformed)
	}
	return id, encoded, nil
}

// parse splits a stored value into its key ID and decoded payload. On
// error the ID is returned when it was read, so errors can name it.
func parse(stored string) (id string, payload []byte, err error) {
	id, encoded, err := parseHeader(stored)
	if err != nil {
		return "", nil, err
	}
	payload, err = payloadEncoding.DecodeString(encoded)
	// The decoder skips \r and \n; a value with them is not one Seal wrote.
	if err != nil || payloadEncoding.EncodedLen(len(payload)) != len(encoded) {
		return id, nil, fmt.Errorf("%w: payload is not base64url", ErrMalformed)
	}
	if len(payload) < headSize+gcmSize {
		return id, nil, fmt.Errorf("%w: payload is %d bytes, shorter than %d", ErrMalformed, len(payload), headSize+gcmSize)
	}
	return id, payload, nil
}
