package cluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki holds the paths of a throwaway certificate authority and the
// certificates the components present to each other. Keys never leave the
// run's work directory.
type pki struct {
	dir string

	CACert, CAKey                     string
	ServingCert, ServingKey           string
	AdminCert, AdminKey               string
	ControllerCert, ControllerKey     string
	FrontProxyCA                      string
	FrontProxyClient, FrontProxyKey   string
	ServiceAccountPub, ServiceAccount string
}

type issuer struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// newPKI writes every certificate the control plane needs into dir. The
// certificates are valid for two days: long enough for any run, short enough
// to be useless if a work directory is left behind.
func newPKI(dir string) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := &pki{dir: dir}
	ca, err := p.authority("vllm-hpa-e2e-ca", "ca")
	if err != nil {
		return nil, err
	}
	p.CACert, p.CAKey = p.path("ca.crt"), p.path("ca.key")

	serving := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP(serviceIP)},
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc.cluster.local"},
	}
	if p.ServingCert, p.ServingKey, err = p.leaf(ca, "apiserver", serving); err != nil {
		return nil, err
	}
	if p.AdminCert, p.AdminKey, err = p.leaf(ca, "admin", client("admin", "system:masters")); err != nil {
		return nil, err
	}
	if p.ControllerCert, p.ControllerKey, err = p.leaf(ca, "controller-manager", client("system:kube-controller-manager")); err != nil {
		return nil, err
	}

	// The aggregator authenticates to extension API servers with a client
	// certificate from a separate CA, which they trust for request headers.
	frontProxy, err := p.authority("vllm-hpa-e2e-front-proxy-ca", "front-proxy-ca")
	if err != nil {
		return nil, err
	}
	p.FrontProxyCA = p.path("front-proxy-ca.crt")
	if p.FrontProxyClient, p.FrontProxyKey, err = p.leaf(frontProxy, "front-proxy-client", client(frontProxyUser)); err != nil {
		return nil, err
	}

	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	p.ServiceAccount = p.path("sa.key")
	if err := writeKey(p.ServiceAccount, saKey); err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(saKey.Public())
	if err != nil {
		return nil, err
	}
	p.ServiceAccountPub = p.path("sa.pub")
	if err := writePEM(p.ServiceAccountPub, "PUBLIC KEY", pub); err != nil {
		return nil, err
	}
	return p, nil
}

const (
	serviceIP      = "10.0.0.1"
	frontProxyUser = "front-proxy-client"
)

func client(name string, groups ...string) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: name, Organization: groups},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}

func (p *pki) path(name string) string { return filepath.Join(p.dir, name) }

func (p *pki) authority(commonName, file string) (issuer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return issuer{}, err
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: commonName},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
	}
	cert, err := p.sign(tmpl, tmpl, key, key, file)
	if err != nil {
		return issuer{}, err
	}
	return issuer{cert: cert, key: key}, writeKey(p.path(file+".key"), key)
}

func (p *pki) leaf(ca issuer, file string, tmpl *x509.Certificate) (certPath, keyPath string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	if _, err := p.sign(tmpl, ca.cert, key, ca.key, file); err != nil {
		return "", "", err
	}
	keyPath = p.path(file + ".key")
	return p.path(file + ".crt"), keyPath, writeKey(keyPath, key)
}

func (p *pki) sign(tmpl, parent *x509.Certificate, key *ecdsa.PrivateKey, signer crypto.Signer, file string) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(48 * time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("sign %s certificate: %w", file, err)
	}
	if err := writePEM(p.path(file+".crt"), "CERTIFICATE", der); err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "EC PRIVATE KEY", der)
}

func writePEM(path, kind string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600)
}
