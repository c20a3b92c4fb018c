package grbltest

import (
	"bufio"
	"context"
	"strings"
	"testing"
	"time"
)

func TestFakeRecordsOverflow(t *testing.T) {
	f := New()
	port := f.Start()
	defer f.Close()
	r := bufio.NewReader(port)
	if l, err := r.ReadString('\n'); err != nil || l != "\r\n" {
		t.Fatalf("greeting line 1 = %q, %v", l, err)
	}
	if l, _ := r.ReadString('\n'); l != DefaultBanner+"\r\n" {
		t.Fatalf("banner = %q", l)
	}
	f.Hold()
	// A sender that ignores the RX budget: 20 lines of 10 bytes.
	if _, err := port.Write([]byte(strings.Repeat("G1X1.0000\n", 20))); err != nil {
		t.Fatal(err)
	}
	if _, err := port.Write([]byte{'!'}); err != nil { // real-time bytes still get through
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := f.Wait(ctx, func(s Snapshot) bool { return len(s.Realtime) == 1 })
	if err != nil {
		t.Fatal(err)
	}
	if s.RXUsed != 128 || s.Overflow != 200-128 || s.MaxRXUsed != 128 {
		t.Errorf("RXUsed %d overflow %d max %d, want 128, 72, 128", s.RXUsed, s.Overflow, s.MaxRXUsed)
	}
	f.Release()
	// 12 whole lines fit, the 13th was cut: the fake answers what it got.
	var oks int
	for oks < 12 {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if l == "ok\r\n" {
			oks++
		}
	}
	s = f.Snapshot()
	if len(s.Lines) != 12 || s.RXUsed != 8 {
		t.Errorf("lines %d, RX left %d; want 12 lines and 8 bytes of a cut line", len(s.Lines), s.RXUsed)
	}
}

func TestFakeStatusAndReset(t *testing.T) {
	f := New()
	f.Silent = true
	port := f.Start()
	defer f.Close()
	r := bufio.NewReader(port)
	if _, err := port.Write([]byte{'?'}); err != nil {
		t.Fatal(err)
	}
	if l, _ := r.ReadString('\n'); l != "<Idle|MPos:0.000,0.000,0.000|FS:0,0|WCO:0.000,0.000,0.000>\r\n" {
		t.Errorf("first status = %q, want MPos with WCO", l)
	}
	if _, err := port.Write([]byte{0x18}); err != nil {
		t.Fatal(err)
	}
	if l, _ := r.ReadString('\n'); l != "\r\n" {
		t.Errorf("after reset = %q, want blank line", l)
	}
	if l, _ := r.ReadString('\n'); l != DefaultBanner+"\r\n" {
		t.Errorf("after reset = %q, want banner", l)
	}
}
