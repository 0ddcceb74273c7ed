package collector

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
)

// Token errors: every one is answered 401.
var (
	errTokenMalformed = errors.New("malformed token")
	errTokenSignature = errors.New("bad token signature")
	errTokenExpired   = errors.New("token expired")
)

// tokenVersion is the first byte of every token payload, so the format can
// change without old tokens being misread.
const tokenVersion = 1

// signer issues and checks session tokens: base64url(payload) "."
// base64url(HMAC-SHA256(key, payload)), payload = version, issue time
// (Unix seconds, 8 bytes), then the cluster and server IDs, each after a
// 2-byte length. Nothing is stored: any collector holding the key can check
// any token. The alphabet has no ':', so a token can sit in a hashcash
// resource.
type signer struct {
	key []byte
	ttl time.Duration // negative: never expires
}

type claims struct {
	cluster, server string
	issued          time.Time
}

var b64 = base64.RawURLEncoding

func (s *signer) issue(cluster, server string, now time.Time) string {
	p := make([]byte, 0, 1+8+4+len(cluster)+len(server))
	p = append(p, tokenVersion)
	p = binary.BigEndian.AppendUint64(p, uint64(now.Unix()))
	p = binary.BigEndian.AppendUint16(p, uint16(len(cluster)))
	p = append(p, cluster...)
	p = binary.BigEndian.AppendUint16(p, uint16(len(server)))
	p = append(p, server...)
	return b64.EncodeToString(p) + "." + b64.EncodeToString(s.mac(p))
}

func (s *signer) mac(p []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(p)
	return m.Sum(nil)
}

// maxTokenLen bounds what verify decodes: the longest token issue makes.
var maxTokenLen = b64.EncodedLen(1+8+4+2*usage.MaxIDLen) + 1 + b64.EncodedLen(sha256.Size)

func (s *signer) verify(tok string, now time.Time) (claims, error) {
	if len(tok) > maxTokenLen {
		return claims{}, errTokenMalformed
	}
	enc, sig, ok := strings.Cut(tok, ".")
	if !ok {
		return claims{}, errTokenMalformed
	}
	p, err1 := b64.DecodeString(enc)
	mac, err2 := b64.DecodeString(sig)
	if err1 != nil || err2 != nil {
		return claims{}, errTokenMalformed
	}
	if !hmac.Equal(mac, s.mac(p)) {
		return claims{}, errTokenSignature
	}
	// Signed by us, so well-formed unless the format changed.
	if len(p) < 13 || p[0] != tokenVersion {
		return claims{}, errTokenMalformed
	}
	c := claims{issued: time.Unix(int64(binary.BigEndian.Uint64(p[1:9])), 0)}
	rest := p[9:]
	for _, dst := range []*string{&c.cluster, &c.server} {
		if len(rest) < 2 {
			return claims{}, errTokenMalformed
		}
		n := int(binary.BigEndian.Uint16(rest))
		if len(rest) < 2+n {
			return claims{}, errTokenMalformed
		}
		*dst, rest = string(rest[2:2+n]), rest[2+n:]
	}
	if len(rest) != 0 {
		return claims{}, errTokenMalformed
	}
	if s.ttl >= 0 && now.Sub(c.issued) > s.ttl {
		return claims{}, errTokenExpired
	}
	return c, nil
}
