package sim

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// Injected faults count from the call, not from New.
func TestInjectCountsFromNow(t *testing.T) {
	tests := []struct {
		name  string
		fault string
		want  []string // replies to three G21 lines sent after the injection
	}{
		{"error on the 2nd line from now", "error:line=2,code=24", []string{"ok", "error:24", "ok"}},
		{"alarm on the 1st line from now", "alarm:line=1,code=1", []string{"ALARM:1", "[MSG:Reset to continue]"}},
		{"reset on the 3rd line from now", "reset:line=3", []string{"ok", "ok", "", "Grbl 1.1h ['$' for help]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := mustMachine(t, Options{})
				h := mustConnect(t, m)
				for i := 0; i < 5; i++ { // lines before the injection do not count
					h.cmd("G21")
				}
				if err := m.Inject(mustFault(t, tc.fault)); err != nil {
					t.Fatal(err)
				}
				h.send("G21\nG21\nG21\n")
				h.expect(tc.want...)
			})
		})
	}
}

func TestInjectAtIsFromNow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{})
		h := mustConnect(t, m)
		time.Sleep(10 * time.Second) // machine time since New: well past at=1s
		if err := m.Inject(mustFault(t, "reset:at=1s")); err != nil {
			t.Fatal(err)
		}
		h.noLine(900 * time.Millisecond)
		h.expect("", "Grbl 1.1h ['$' for help]")
	})
}

func TestInjectRefuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{})
		if err := m.Inject(Fault{Kind: FaultError, Line: 3}); !errors.Is(err, ErrBadFault) {
			t.Fatalf("error fault without a code: %v, want ErrBadFault", err)
		}
		m.Close()
		if err := m.Inject(mustFault(t, "reset:line=1")); !errors.Is(err, ErrClosed) {
			t.Fatalf("after Close: %v, want ErrClosed", err)
		}
	})
}
