package keyring

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestKeysNeverPrintKeyMaterial: a Key and a Static keyring, by pointer,
// by value and inside a struct, print with every fmt verb, slog and JSON
// without the secret or the AES key derived from it.
func TestKeysNeverPrintKeyMaterial(t *testing.T) {
	secret := make([]byte, SecretSize)
	_, _ = rand.Read(secret)
	aesKey, err := hkdf.Key(sha256.New, secret, nil, infoAESKey, SecretSize)
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewKey("k1", secret)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewStatic(k)
	if err != nil {
		t.Fatal(err)
	}
	type holder struct {
		Key    *Key
		Ring   *Static
		KeyVal Key
		ring   Static
	}
	subjects := map[string]any{"*Key": k, "Key": *k, "*Static": s, "Static": *s,
		"holder": holder{k, s, *k, *s}, "*holder": &holder{k, s, *k, *s}}
	for name, v := range subjects {
		var out []string
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%o", "%b", "%T", "%p"} {
			out = append(out, fmt.Sprintf(verb, v))
		}
		var log strings.Builder
		slog.New(slog.NewTextHandler(&log, nil)).Info("x", "v", v)
		slog.New(slog.NewJSONHandler(&log, nil)).Info("x", "v", v)
		j, _ := json.Marshal(v)
		out = append(out, log.String(), string(j))
		for _, text := range out {
			for _, material := range [][]byte{secret, aesKey} {
				for _, form := range []string{string(material), hex.EncodeToString(material),
					base64.StdEncoding.EncodeToString(material), fmt.Sprint(material), fmt.Sprintf("%x", material)} {
					if strings.Contains(text, form[:12]) {
						t.Errorf("%s printed %q: contains key material", name, text)
					}
				}
			}
		}
	}
	if got := fmt.Sprintf("%+v %#v %x %d", k, *k, s, *s); got != "keyring.Key(k1) keyring.Key(k1) keyring.Static(primary k1; k1) keyring.Static(primary k1; k1)" {
		t.Errorf("fmt of a key and a keyring = %q", got)
	}
}
