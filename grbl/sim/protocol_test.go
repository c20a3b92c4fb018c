package sim

import (
	"strings"
	"testing"
	"testing/synctest"
)

func TestBannerAndHelp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{})
		h := connectRaw(t, m)
		h.expect("", "Grbl 1.1h ['$' for help]")
		h.send("$\n")
		h.expect("[HLP:$$ $# $G $I $N $x=val $Nx=line $J=line $SLP $C $X $H ~ ! ? ctrl-x]", "ok")
	})
}

func TestHomingEnabledBootsInAlarm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{Settings: map[int]float64{22: 1}})
		h := connectRaw(t, m)
		h.expect("", "Grbl 1.1h ['$' for help]", "[MSG:'$H'|'$X' to unlock]")
		if got := h.cmd("G0 X-1"); got[len(got)-1] != "error:9" {
			t.Fatalf("G-code in alarm = %v, want error:9", got)
		}
		h.send("$X\n")
		h.expect("[MSG:Caution: Unlocked]", "ok")
		h.send("$X\n")
		h.expect("ok")
	})
}

func TestDollarCommands(t *testing.T) {
	genericDump := []string{"$0=10", "$1=25", "$2=0", "$3=0", "$4=0", "$5=0", "$6=0", "$10=1", "$11=0.010",
		"$12=0.002", "$13=0", "$20=0", "$21=0", "$22=0", "$23=0", "$24=25.000", "$25=500.000", "$26=250",
		"$27=1.000", "$30=1000", "$31=0", "$32=0", "$100=250.000", "$101=250.000", "$102=250.000",
		"$110=500.000", "$111=500.000", "$112=500.000", "$120=10.000", "$121=10.000", "$122=10.000",
		"$130=200.000", "$131=200.000", "$132=200.000", "ok"}
	tests := []struct {
		name  string
		lines []string // sent in order; only the last one's output is checked
		want  []string
	}{
		{"settings dump", []string{"$$"}, genericDump},
		{"parser state", []string{"$G"}, []string{"[GC:G0 G54 G17 G21 G90 G94 M5 M9 T0 F0 S0]", "ok"}},
		{"parser state after modal changes", []string{"G20 G91 G55 M8 T7 F100 S300", "$G"},
			[]string{"[GC:G0 G55 G17 G20 G91 G94 M5 M8 T7 F2540 S300]", "ok"}}, // F is kept in mm/min and printed per $13, as GRBL does
		{"parameters", []string{"$#"}, []string{"[G54:0.000,0.000,0.000]", "[G55:0.000,0.000,0.000]",
			"[G56:0.000,0.000,0.000]", "[G57:0.000,0.000,0.000]", "[G58:0.000,0.000,0.000]", "[G59:0.000,0.000,0.000]",
			"[G28:0.000,0.000,0.000]", "[G30:0.000,0.000,0.000]", "[G92:0.000,0.000,0.000]", "[TLO:0.000]",
			"[PRB:0.000,0.000,0.000:0]", "ok"}},
		{"parameters after G10 and G92", []string{"G10 L2 P2 X-5 Y-6 Z-7", "G92 X2", "G43.1 Z1.5", "$#"}, []string{
			"[G54:0.000,0.000,0.000]", "[G55:-5.000,-6.000,-7.000]",
			"[G56:0.000,0.000,0.000]", "[G57:0.000,0.000,0.000]", "[G58:0.000,0.000,0.000]", "[G59:0.000,0.000,0.000]",
			"[G28:0.000,0.000,0.000]", "[G30:0.000,0.000,0.000]", "[G92:-2.000,0.000,0.000]", "[TLO:1.500]",
			"[PRB:0.000,0.000,0.000:0]", "ok"}},
		{"build info", []string{"$I"}, []string{"[VER:1.1h.20190830:]", "[OPT:V,15,128]", "ok"}},
		{"build info stored pre-filtered", []string{"$I=my machine", "$I"}, []string{"[VER:1.1h.20190830:MYMACHINE]", "[OPT:V,15,128]", "ok"}},
		{"startup lines empty", []string{"$N"}, []string{"$N0=", "$N1=", "ok"}},
		{"startup line stored", []string{"$N0=G21 G90", "$N"}, []string{"$N0=G21G90", "$N1=", "ok"}},
		{"bad startup line", []string{"$N0=G41"}, []string{"error:20"}},
		{"write setting", []string{"$10=3", "$10=3"}, []string{"ok"}},
		{"unknown setting", []string{"$150=1"}, []string{"error:3"}},
		{"setting over 255", []string{"$999=1"}, []string{"error:3"}},
		{"negative setting", []string{"$110=-5"}, []string{"error:4"}},
		{"step pulse too short", []string{"$0=2"}, []string{"error:6"}},
		{"soft limits without homing", []string{"$20=1"}, []string{"error:10"}},
		{"homing disabled", []string{"$H"}, []string{"error:5"}},
		{"bad dollar letter", []string{"$Q"}, []string{"error:2"}},
		{"jog without equals", []string{"$JX1"}, []string{"error:3"}},
		{"$$ with junk", []string{"$$x"}, []string{"error:3"}},
		{"unlock without alarm", []string{"$X"}, []string{"ok"}},
		{"check mode on", []string{"$C"}, []string{"[MSG:Enabled]", "ok"}},
		{"sleep", []string{"$SLP"}, []string{"ok", "[MSG:Sleeping]"}},
		{"bad restore", []string{"$RST=x"}, []string{"error:3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := mustMachine(t, Options{})
				h := mustConnect(t, m)
				for _, l := range tc.lines[:len(tc.lines)-1] {
					if got := h.cmd(l); got[len(got)-1] != "ok" {
						t.Fatalf("%q: %v", l, got)
					}
				}
				h.send(tc.lines[len(tc.lines)-1] + "\n")
				h.expect(tc.want...)
			})
		})
	}
}

func TestResetLikeCommands(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{})
		h := mustConnect(t, m)
		h.cmd("$C")
		h.send("$C\n")
		h.expect("[MSG:Disabled]", "ok", "", "Grbl 1.1h ['$' for help]")
		h.send("$RST=$\n")
		h.expect("[MSG:Restoring defaults]", "ok", "", "Grbl 1.1h ['$' for help]")
		h.cmd("$N0=G20")
		h.cmd("$N1=G91")
		h.send("\x18")
		h.expect("", "Grbl 1.1h ['$' for help]", ">G20:ok", ">G91:ok")
		h.send("$G\n")
		h.expect("[GC:G0 G54 G17 G20 G91 G94 M5 M9 T0 F0 S0]", "ok")
	})
}

func TestErrorCodes(t *testing.T) {
	tests := []struct {
		line string
		want string
	}{
		{"%", "error:1"},
		{"G1 X1 Y", "error:2"},
		{"F-1", "error:4"},
		{"G1 X1", "error:22"},
		{strings.Repeat("G0X0", 20), "error:11"},
		{"g0 (a comment that makes the raw line long but the filtered line short, well past 80 bytes) x0", "ok"},
		{"G41", "error:20"},
		{"G43 Z1", "error:20"},
		{"G64", "error:20"},
		{"G61.1", "error:20"},
		{"G90.1", "error:20"},
		{"M6", "error:20"},
		{"M7", "error:20"},
		{"M48", "error:20"},
		{"G28.2", "error:20"},
		{"G38.1 Z-1 F10", "error:20"},
		{"G0 X1 Q1", "error:20"},
		{"G0 A1", "error:20"},
		{"G17 G18", "error:21"},
		{"M3 M5", "error:21"},
		{"G59.1", "error:23"},
		{"G0 X1 G1 Y1", "error:24"},
		{"X1 X2", "error:25"},
		{"G10 L2 P1", "error:26"},
		{"N10000001 G0", "error:27"},
		{"N10000000 G0", "ok"},
		{"G4", "error:28"},
		{"G10 L2 X1", "error:28"},
		{"G53 G2 X1 Y1 I1 F100", "error:30"},
		{"G80 X1", "error:31"},
		{"G2 Z1 F100", "error:32"},
		{"G2 X0 Y0 R5 F100", "error:33"},
		{"G2 X-10 R2 F100", "error:34"},
		{"G2 X-10 F100", "error:35"},
		{"G1 X-1 F10 R1", "error:36"},
		{"G43.1 X1", "error:37"},
		{"T256", "error:38"},
		{"T255", "ok"},
		{"G10 L3 P1 X0", "error:20"},
		{"$J=G1X1F100", "error:16"},
		{"$J=X-1", "error:22"},
		{"/G0 X-1 ; block delete is ignored", "ok"},
		{"", "ok"},
		{"(only a comment)", "ok"},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := mustMachine(t, Options{})
				h := mustConnect(t, m)
				got := h.cmd(tc.line)
				if got[len(got)-1] != tc.want {
					t.Fatalf("%q -> %v, want %s", tc.line, got, tc.want)
				}
			})
		})
	}
}

func TestCRLFGivesTwoOKs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{})
		h := mustConnect(t, m)
		h.send("G21\r\n")
		h.expect("ok", "ok")
		h.noLine(time1s)
	})
}
