package oci

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// Keys in cosign's formats. The PEM parsing, the private key's encryption
// and the payload are sigstore's (cryptoutils, payload); the signature is
// the standard library's, as sigstore's signature package makes it for
// cosign (SHA-256; ECDSA ASN.1, RSA PKCS #1 v1.5, or Ed25519), without that
// package's protobuf registry (2 MB of binary).

// PublicKey checks signatures: cosign.pub.
type PublicKey struct{ key crypto.PublicKey }

// PrivateKey makes signatures: cosign.key.
type PrivateKey struct{ key crypto.Signer }

// LoadPublicKey reads a PEM public key (cosign.pub).
func LoadPublicKey(pemBytes []byte) (*PublicKey, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	switch pub.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey, ed25519.PublicKey:
		return &PublicKey{pub}, nil
	}
	return nil, fmt.Errorf("public key: unsupported type %T", pub)
}

// LoadPrivateKey reads a private key in cosign's format (cosign.key:
// encrypted PKCS #8 in PEM); pass gives the password.
func LoadPrivateKey(pemBytes []byte, pass cryptoutils.PassFunc) (*PrivateKey, error) {
	priv, err := cryptoutils.UnmarshalPEMToPrivateKey(pemBytes, pass)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	switch k := priv.(type) {
	case *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey:
		return &PrivateKey{k.(crypto.Signer)}, nil
	}
	return nil, fmt.Errorf("private key: unsupported type %T", priv)
}

// GenerateKeyPair makes an ECDSA P-256 key pair as `cosign
// generate-key-pair` does: the private key encrypted with the password pass
// gives (empty is allowed), the public key in PEM.
func GenerateKeyPair(pass cryptoutils.PassFunc) (privPEM, pubPEM []byte, err error) {
	return cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), func(confirm bool) ([]byte, error) {
		pw, err := pass(confirm)
		if pw == nil && err == nil {
			pw = []byte{} // nil would leave the key unencrypted
		}
		return pw, err
	})
}

// Public is the key's public half.
func (k *PrivateKey) Public() *PublicKey { return &PublicKey{k.key.Public()} }

func (k *PrivateKey) sign(msg []byte) ([]byte, error) {
	if _, ok := k.key.(ed25519.PrivateKey); ok {
		return k.key.Sign(rand.Reader, msg, crypto.Hash(0))
	}
	sum := sha256.Sum256(msg)
	return k.key.Sign(rand.Reader, sum[:], crypto.SHA256)
}

func (k *PublicKey) verify(sig, msg []byte) error {
	sum := sha256.Sum256(msg)
	ok := false
	switch pub := k.key.(type) {
	case *ecdsa.PublicKey:
		ok = ecdsa.VerifyASN1(pub, sum[:], sig)
	case *rsa.PublicKey:
		ok = rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil
	case ed25519.PublicKey:
		ok = ed25519.Verify(pub, msg, sig)
	}
	if !ok {
		return errors.New("invalid signature")
	}
	return nil
}
