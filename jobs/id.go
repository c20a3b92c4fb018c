package jobs

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// ID identifies a job, a run or a token. IDs come from a per-bucket bbolt
// sequence, so they are unique within one database, never reused (deleting a
// record does not rewind the sequence) and ordered by creation.
//
// The text form is Crockford base32 (digits and upper-case letters without
// I, L, O and U), zero-padded to at least four characters: "0001", "00ZZ",
// "7Q3K". Strings of equal length sort like the numbers they encode, and a
// database needs over a million records of one kind before an ID grows to
// five characters. ParseID accepts lower case and the usual misreadings
// (O for 0, I and L for 1).
type ID uint64

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// idMinWidth is the minimum number of characters in an ID's text form.
const idMinWidth = 4

// String returns the Crockford base32 text form.
func (id ID) String() string {
	var buf [13]byte // 64 bits need at most 13 base32 digits
	i := len(buf)
	for v := uint64(id); v > 0 || len(buf)-i < idMinWidth; v >>= 5 {
		i--
		buf[i] = crockford[v&31]
	}
	return string(buf[i:])
}

// MarshalText implements encoding.TextMarshaler.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseID.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseID parses the text form of an ID. The error names the offending
// character and its 1-based position, and wraps ErrInvalid.
func ParseID(s string) (ID, error) {
	if s == "" {
		return 0, fmt.Errorf("parse id: empty string: %w", ErrInvalid)
	}
	if len(s) > 13 {
		return 0, fmt.Errorf("parse id %q: longer than 13 characters: %w", s, ErrInvalid)
	}
	var v uint64
	for i, r := range strings.ToUpper(s) {
		switch r {
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		d := strings.IndexRune(crockford, r)
		if d < 0 {
			return 0, fmt.Errorf("parse id %q: invalid character %q at position %d: %w", s, r, i+1, ErrInvalid)
		}
		if v>>59 != 0 {
			return 0, fmt.Errorf("parse id %q: value overflows 64 bits: %w", s, ErrInvalid)
		}
		v = v<<5 | uint64(d)
	}
	if v == 0 {
		return 0, fmt.Errorf("parse id %q: zero is not a valid id: %w", s, ErrInvalid)
	}
	return ID(v), nil
}

// key is the bbolt key of the ID: 8 bytes big-endian, so bbolt's byte order
// is creation order.
func (id ID) key() []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(id))
}

// idFromKey decodes a key written by ID.key.
func idFromKey(k []byte) ID {
	if len(k) < 8 {
		return 0
	}
	return ID(binary.BigEndian.Uint64(k[:8]))
}
