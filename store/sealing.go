package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ocpctl/ocpstore/store/keyring"
)

// Secret fields of cluster outputs are sealed (encrypted and bound to
// their row and field) in package store, before the Executor call, and
// opened after it, so every backend stores and returns only ciphertext
// and both behave the same. See the README, "Secrets encrypted at rest".

// ErrNoKeyring: a secret field was written or read by a Store made without
// a keyring. Writing one needs WithKeyring, or WithPlaintextSecrets to
// store it in plain text on purpose; reading a sealed one needs a keyring
// holding its key (the error also matches keyring.ErrKeyNotFound and names
// the key ID).
var ErrNoKeyring = errors.New("no keyring configured for secret fields (store.WithKeyring)")

// SecretsTable is the table name bound into every sealed output field
// (keyring.AAD.Table); the row is the cluster ID, the field the column.
const SecretsTable = "cluster_outputs"

// WithKeyring makes the Store seal the secret fields of cluster outputs
// (DashboardToken, SAToken, OCLoginCommand) with kr's primary key before
// they reach the backend, and open them with the key each value names
// when they are read. kr must be safe for concurrent use.
func WithKeyring(kr keyring.Keyring) Option { return func(c *config) { c.keyring = kr } }

// WithPlaintextSecrets accepts secret fields in plain text in storage.
// Without a keyring the Store then writes and reads them in plain text
// (for tests and development; without this option and without a keyring,
// writing a secret field fails with ErrNoKeyring). With a keyring, it
// still seals every write, but a stored value that is not sealed reads as
// it is instead of failing with keyring.ErrNotSealed, and Rotate seals it:
// the window in which rows written before encryption are migrated. Turn
// it off once KeyStatus reports no plain text, since in the window anyone
// who can write the database can plant a value readers trust.
func WithPlaintextSecrets() Option { return func(c *config) { c.plaintext = true } }

// OutputSecrets are the secret fields of a ClusterOutputs row as stored:
// sealed values (or plain text written without a keyring).
type OutputSecrets struct {
	DashboardToken *string
	SAToken        *string
	OCLoginCommand *string
}

// secretField is one secret field of ClusterOutputs: its column, which is
// the AAD field, and where it is in the struct.
type secretField struct {
	column string
	in     func(*ClusterOutputs) **string
	inS    func(*OutputSecrets) **string
}

// secretFields are the sealed fields, in column order.
var secretFields = []secretField{
	{"dashboard_token", func(o *ClusterOutputs) **string { return &o.DashboardToken },
		func(s *OutputSecrets) **string { return &s.DashboardToken }},
	{"sa_token", func(o *ClusterOutputs) **string { return &o.SAToken },
		func(s *OutputSecrets) **string { return &s.SAToken }},
	{"oc_login_command", func(o *ClusterOutputs) **string { return &o.OCLoginCommand },
		func(s *OutputSecrets) **string { return &s.OCLoginCommand }},
}

// secretsOf returns o's secret fields.
func secretsOf(o *ClusterOutputs) OutputSecrets {
	return OutputSecrets{DashboardToken: o.DashboardToken, SAToken: o.SAToken, OCLoginCommand: o.OCLoginCommand}
}

// aadFor returns where the field of clusterID's outputs is stored.
func aadFor(clusterID, column string) keyring.AAD {
	return keyring.AAD{Table: SecretsTable, Row: clusterID, Field: column}
}

// checkSecrets refuses, before anything is sealed or written, a secret
// field that starts with keyring.Marker (it would read back as a sealed
// value), and any secret field when the Store can neither seal it nor
// store it in plain text.
func (c *config) checkSecrets(o *ClusterOutputs) error {
	for _, f := range secretFields {
		v := *f.in(o)
		if v == nil {
			continue
		}
		if strings.HasPrefix(*v, keyring.Marker) {
			return invalid("outputs."+f.column, "starts with %q, the prefix of sealed values", keyring.Marker)
		}
		if c.keyring == nil && !c.plaintext {
			return fmt.Errorf("outputs of cluster %s: %s: %w; or store.WithPlaintextSecrets to store secrets in plain text",
				o.ClusterID, f.column, ErrNoKeyring)
		}
	}
	return nil
}

// sealOutputs returns a copy of o whose secret fields are sealed for their
// place, or o itself when the Store stores them in plain text.
func (c *config) sealOutputs(ctx context.Context, o *ClusterOutputs) (*ClusterOutputs, error) {
	if c.keyring == nil {
		return o, nil
	}
	sealed := *o
	for _, f := range secretFields {
		p := f.in(&sealed)
		if *p == nil {
			continue
		}
		v, err := keyring.Seal(ctx, c.keyring, aadFor(o.ClusterID, f.column), **p)
		if err != nil {
			return nil, fmt.Errorf("outputs of cluster %s: seal %s: %w", o.ClusterID, f.column, err)
		}
		*p = &v
	}
	return &sealed, nil
}

// openOutputs replaces the secret fields of o, as read from the backend,
// with their plain text.
func (c *config) openOutputs(ctx context.Context, o *ClusterOutputs) error {
	for _, f := range secretFields {
		p := f.in(o)
		if *p == nil {
			continue
		}
		v, err := c.open(ctx, o.ClusterID, f.column, **p)
		if err != nil {
			return err
		}
		*p = &v
	}
	return nil
}

// open returns the plain text of the stored value of a field, or an error
// naming the cluster, the field and (in the chain's *keyring.Error) the
// key ID. Plain text is returned as it is only under WithPlaintextSecrets.
func (c *config) open(ctx context.Context, clusterID, column, stored string) (string, error) {
	id, sealed := keyring.KeyID(stored)
	switch {
	case !sealed && c.plaintext:
		return stored, nil
	case sealed && c.keyring == nil:
		return "", fmt.Errorf("outputs of cluster %s: %s: %w: %w", clusterID, column, ErrNoKeyring,
			&keyring.Error{Op: "open", KeyID: id, Err: keyring.ErrKeyNotFound})
	case !sealed && c.keyring == nil:
		// Unreachable through this Store's writes: the row was written in
		// plain text by another configuration.
		return "", fmt.Errorf("outputs of cluster %s: %s: %w (store.WithPlaintextSecrets accepts it)",
			clusterID, column, &keyring.Error{Op: "open", Err: keyring.ErrNotSealed})
	}
	v, err := keyring.Open(ctx, c.keyring, aadFor(clusterID, column), stored)
	if err != nil {
		return "", fmt.Errorf("outputs of cluster %s: %s: %w", clusterID, column, err)
	}
	return v, nil
}
