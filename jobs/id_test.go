package jobs

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestIDText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id   ID
		want string
	}{
		{1, "0001"},
		{31, "000Z"},
		{32, "0010"},
		{1<<20 - 1, "ZZZZ"},
		{1 << 20, "10000"},
		{math.MaxUint64, "FZZZZZZZZZZZZ"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.id.String(); got != tt.want {
				t.Errorf("ID(%d).String()=%q, want %q", uint64(tt.id), got, tt.want)
			}
			back, err := ParseID(tt.want)
			if err != nil || back != tt.id {
				t.Errorf("ParseID(%q)=%d, %v; want %d", tt.want, back, err, tt.id)
			}
		})
	}
}

func TestParseIDLenient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want ID
	}{
		{"000a", 10},
		{"OOO1", 1},
		{"000i", 1},
		{"000L", 1},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseID(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("ParseID(%q)=%d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseIDErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, wantMsg string
	}{
		{"", "empty"},
		{"00U1", "'U' at position 3"},
		{"7Q-K", "'-' at position 3"},
		{"0000", "zero"},
		{"GZZZZZZZZZZZZ", "overflows"},
		{strings.Repeat("1", 14), "longer than 13"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseID(tt.in)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("ParseID(%q): err=%v, want ErrInvalid mentioning %q", tt.in, err, tt.wantMsg)
			}
		})
	}
}

func TestIDTextSortsLikeNumbers(t *testing.T) {
	t.Parallel()
	var ids []string
	for v := ID(1); v < 5000; v += 7 {
		ids = append(ids, v.String())
	}
	if !slices.IsSorted(ids) {
		t.Error("ID strings of equal width do not sort in numeric order")
	}
}

func TestIDJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(struct{ ID ID }{42})
	if err != nil || string(b) != `{"ID":"001A"}` {
		t.Fatalf("marshal=%s, %v", b, err)
	}
	var v struct{ ID ID }
	if err := json.Unmarshal([]byte(`{"ID":"001a"}`), &v); err != nil || v.ID != 42 {
		t.Errorf("unmarshal=%d, %v", v.ID, err)
	}
	if err := json.Unmarshal([]byte(`{"ID":"!!"}`), &v); !errors.Is(err, ErrInvalid) {
		t.Errorf("unmarshal bad id: err=%v, want ErrInvalid", err)
	}
}
