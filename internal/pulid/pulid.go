// Package pulid implements the opaque identifiers every Mercantile object carries: a short
// type prefix, an underscore and a ULID ("prd_01HZX..."). The prefix tells GraphQL's node
// resolver which table to read and makes ids readable in logs; the ULID sorts by creation
// time, so keyset pagination by id follows insertion order. Clients must never parse them.
package pulid

import (
	"crypto/rand"
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ID is a prefixed ULID.
type ID string

// crockford is the ULID alphabet: it sorts in byte order, so string order equals time order.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// New returns a fresh ID with the given prefix for the current time.
func New(prefix string) ID {
	return NewAt(prefix, time.Now())
}

// NewAt returns a fresh ID with the given prefix for time t.
func NewAt(prefix string, t time.Time) ID {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	binary.BigEndian.PutUint16(b[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(b[2:6], uint32(ms))
	if _, err := rand.Read(b[6:]); err != nil {
		panic(fmt.Sprintf("pulid: reading random bytes: %v", err))
	}
	return ID(prefix + "_" + encode(b))
}

// encode writes 128 bits as 26 Crockford base32 characters, most significant first.
func encode(b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&0x1f]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// Prefix returns the type prefix of id, or "" when id has none.
func (id ID) Prefix() string {
	prefix, _, ok := strings.Cut(string(id), "_")
	if !ok {
		return ""
	}
	return prefix
}

// String implements fmt.Stringer.
func (id ID) String() string { return string(id) }

// UnmarshalGQL implements graphql.Unmarshaler.
// entgql's generated noder passes an ID, GraphQL input a string.
func (id *ID) UnmarshalGQL(v any) error {
	switch v := v.(type) {
	case string:
		*id = ID(v)
	case ID:
		*id = v
	default:
		return fmt.Errorf("pulid: ID must be a string, got %T", v)
	}
	return nil
}

// MarshalGQL implements graphql.Marshaler.
func (id ID) MarshalGQL(w io.Writer) {
	_, _ = io.WriteString(w, strconv.Quote(string(id)))
}

// Scan implements sql.Scanner.
func (id *ID) Scan(src any) error {
	switch v := src.(type) {
	case string:
		*id = ID(v)
	case []byte:
		*id = ID(v)
	default:
		return fmt.Errorf("pulid: cannot scan %T", src)
	}
	return nil
}

// Value implements driver.Valuer.
func (id ID) Value() (driver.Value, error) { return string(id), nil }
