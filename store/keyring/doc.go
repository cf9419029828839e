// Package keyring seals secret column values (service account tokens,
// dashboard tokens, oc login commands) before they reach storage, and
// opens them after: AES-256-GCM, bound to the table, row and field the
// value is stored in, with keys from a Keyring the application
// implements. It knows nothing about the store; package store calls Seal
// on writes and Open on reads, so every backend receives only ciphertext.
//
// # Keys are handed out, not used remotely
//
// A Keyring returns *Key values (built with NewKey from a 256-bit secret)
// and Seal/Open encrypt in process; the keyring does not encrypt or
// decrypt itself. This is the data-key design of Kubernetes KMS v2 and of
// Vault transit's datakey endpoint: a KMS-backed keyring unwraps each data
// key once (on start or on first use, hence the context) and caches the
// Key. The alternative, a keyring that encrypts every value itself, would
// put a network round trip (milliseconds, rate-limited, an outage away
// from failing) on every field of every row: three per Upsert, three per
// Get, three per row of a rotation. AES-GCM in process costs microseconds.
// Handing out an opaque Key rather than a cipher.AEAD also keeps the
// algorithm, the nonces and the format in this package: an implementation
// cannot get them wrong, and the format version fully determines the
// cryptography. The price is that data keys live in the process's memory,
// as they do under KMS v2; a process that can decrypt must hold them.
// Keys that must never leave an HSM are not supported.
//
// # Format
//
// A sealed value is ASCII text, so it fits the existing TEXT columns:
//
//	ocpstore:enc:v1:<key ID>:<base64url payload>
//
// Marker ("ocpstore:enc:") and the version make it self-describing; the key
// ID in clear lets KeyID and a SQL prefix test (KeyPrefix) find the values
// a rotation must reseal without decrypting anything. The payload holds a
// digest of the AAD, a check value of the key, the random 96-bit nonce, the
// ciphertext and the tag; every byte of the value is authenticated. A value
// is 4/3 of its plain text plus 65 bytes and the key ID. The key is used through
// HKDF-SHA256, and no copy of the secret is kept. With random nonces a key
// must seal fewer than 2^32 values: rotate well before that.
//
// # Errors
//
// Open returns a value only for what Seal sealed for the same AAD with a
// key the keyring holds, never plain text or garbage. Its errors are
// *Error values naming the key ID, matching one sentinel each: ErrNotSealed,
// ErrMalformed, ErrKeyNotFound, ErrWrongKey, ErrMisplaced, ErrTampered. The
// caller adds the table, row and field.
//
// # Plain text written before encryption
//
// Open and Reseal refuse a value without Marker with ErrNotSealed: they
// never pass plain text off as decrypted. Accepting it would give up the
// integrity sealing provides: anyone who can write the database (the
// application role, a SQL injection) could plant a token of their choice,
// or an oc login command whose --server is theirs, and readers would trust
// it. During a migration window the caller may decide, explicitly and by
// configuration, to trust such rows: when Open's error matches
// ErrNotSealed it uses the stored value as it is, and its rotation Seals
// it. Once rotation has sealed every legacy row the setting is turned off,
// and plain text planted later fails again. (In the window a value whose
// Marker was damaged also reads as plain text: the window gives up
// integrity for these fields, which is why it must end.)
//
// # Rotation
//
// Several keys open while one, the primary, seals. To replace the primary
// without downtime across several instances: (1) add the new key as a
// non-primary to every instance, so each can open what any seals; (2) make
// it the primary everywhere; (3) reseal, in batches, every value that does
// not start with KeyPrefix(newID), with Reseal, writing each back only if
// it has not changed since it was read; (4) once no value names the old
// key, remove it. A key removed too early makes its values fail with
// ErrKeyNotFound naming it.
package keyring
