package sim

import (
	"testing"
	"testing/synctest"
)

func TestSmoke(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{})
		h := mustConnect(t, m)
		t.Log(h.cmd("$I"))
		t.Log(h.status())
		t.Log(h.cmd("G1 X-10 F600"))
		t.Log(h.status())
		t.Log(h.cmd("M3 S500"))
		t.Log(h.status())
		t.Log(h.status())
		t.Log(h.cmd("$G"))
		t.Log(h.cmd("$#"))
		t.Log(m.Stats())
	})
}
