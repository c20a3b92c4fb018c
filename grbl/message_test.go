package grbl

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Message
	}{
		{"ok", "ok", OK{}},
		{"ok with CR", "ok\r", OK{}},
		{"error 20", "error:20", &Error{Code: 20, Text: ErrorText(20)}},
		{"error 9", "error:9", &Error{Code: 9, Text: ErrorText(9)}},
		{"error grblHAL code", "error:79", &Error{Code: 79, Text: "unknown error code"}},
		{"bad error", "error:x", Unknown{Line: "error:x"}},
		{"alarm 1", "ALARM:1", &Alarm{Code: 1, Text: AlarmText(1)}},
		{"alarm unknown", "ALARM:14", &Alarm{Code: 14, Text: "unknown alarm code"}},
		{"msg", "[MSG:Reset to continue]", Feedback{Text: "Reset to continue"}},
		{"msg unlock", "[MSG:'$H'|'$X' to unlock]", Feedback{Text: "'$H'|'$X' to unlock"}},
		{"fluidnc msg", "[MSG:INFO: Connecting to STA]", Feedback{Text: "INFO: Connecting to STA"}},
		{"help", "[HLP:$$ $# $G $I $N $x=val $Nx=line $J=line $SLP $C $X $H ~ ! ? ctrl-x]",
			Help{Commands: strings.Fields("$$ $# $G $I $N $x=val $Nx=line $J=line $SLP $C $X $H ~ ! ? ctrl-x")}},
		{"probe ok", "[PRB:1.000,-2.500,-10.125:1]", Probe{Pos: []float64{1, -2.5, -10.125}, Success: true}},
		{"probe fail", "[PRB:0.000,0.000,0.000:0]", Probe{Pos: []float64{0, 0, 0}}},
		{"probe bad flag", "[PRB:0.000,0.000,0.000:x]", Unknown{Line: "[PRB:0.000,0.000,0.000:x]"}},
		{"G54", "[G54:-100.000,-50.500,-3.000]", Offset{Name: "G54", Pos: []float64{-100, -50.5, -3}}},
		{"G59", "[G59:0.000,0.000,0.000]", Offset{Name: "G59", Pos: []float64{0, 0, 0}}},
		{"G28", "[G28:1.000,2.000,3.000]", Offset{Name: "G28", Pos: []float64{1, 2, 3}}},
		{"G30", "[G30:0.000,0.000,0.000]", Offset{Name: "G30", Pos: []float64{0, 0, 0}}},
		{"G92", "[G92:0.000,0.000,5.000]", Offset{Name: "G92", Pos: []float64{0, 0, 5}}},
		{"TLO", "[TLO:1.500]", Offset{Name: "TLO", Pos: []float64{1.5}}},
		{"VER", "[VER:1.1h.20190830:]", Version{Version: "1.1h.20190830"}},
		{"VER named", "[VER:1.1f.20170801:MYMACHINE]", Version{Version: "1.1f.20170801", Name: "MYMACHINE"}},
		{"OPT", "[OPT:V,15,128]", BuildOptions{Letters: "V", Blocks: 15, RXBufferSize: 128}},
		{"OPT grblHAL", "[OPT:VNMSL,35,1024,3,0]", BuildOptions{Letters: "VNMSL", Blocks: 35, RXBufferSize: 1024}},
		{"OPT old", "[OPT:V]", BuildOptions{Letters: "V"}},
		{"echo", "[echo:G1X1]", Echo{Line: "G1X1"}},
		{"GC", "[GC:G0 G54 G17 G21 G90 G94 M5 M9 T0 F0 S0]", Modal{
			Words:  strings.Fields("G0 G54 G17 G21 G90 G94 M5 M9 T0 F0 S0"),
			Motion: "G0", WCS: "G54", Plane: "G17", Units: "G21", Distance: "G90", FeedMode: "G94",
			Spindle: "M5", Coolant: []string{"M9"}}},
		{"GC running", "[GC:G1 G55 G18 G20 G91 G93 M3 M7 M8 M2 T12 F250.5 S12000]", Modal{
			Words:  strings.Fields("G1 G55 G18 G20 G91 G93 M3 M7 M8 M2 T12 F250.5 S12000"),
			Motion: "G1", WCS: "G55", Plane: "G18", Units: "G20", Distance: "G91", FeedMode: "G93",
			Spindle: "M3", Coolant: []string{"M7", "M8"}, Program: "M2", Tool: 12, Feed: 250.5, Speed: 12000}},
		{"GC bad feed", "[GC:G0 Fx]", Unknown{Line: "[GC:G0 Fx]"}},
		{"setting int", "$10=1", Setting{Num: 10, Value: 1, Raw: "1"}},
		{"setting float", "$11=0.010", Setting{Num: 11, Value: 0.01, Raw: "0.010"}},
		{"setting big", "$130=300.000", Setting{Num: 130, Value: 300, Raw: "300.000"}},
		{"setting named FluidNC", "$Config/Filename=config.yaml", Setting{Num: -1, Name: "Config/Filename", Raw: "config.yaml"}},
		{"startup line", "$N0=G21G90", StartupLine{Index: 0, Line: "G21G90"}},
		{"startup line empty", "$N1=", StartupLine{Index: 1, Line: ""}},
		{"startup echo ok", ">G21G90:ok", StartupEcho{Line: "G21G90"}},
		{"startup echo error", ">G41:error:20", StartupEcho{Line: "G41", Err: &Error{Code: 20, Text: ErrorText(20), Line: "G41"}}},
		{"banner", "Grbl 1.1h ['$' for help]", Banner{Firmware: "Grbl", Version: "1.1h", Raw: "Grbl 1.1h ['$' for help]"}},
		{"banner 1.1f", "Grbl 1.1f ['$' for help]", Banner{Firmware: "Grbl", Version: "1.1f", Raw: "Grbl 1.1f ['$' for help]"}},
		{"banner grblHAL", "GrblHAL 1.1f ['$' or '$HELP' for help]", Banner{Firmware: "GrblHAL", Version: "1.1f", Raw: "GrblHAL 1.1f ['$' or '$HELP' for help]"}},
		{"banner FluidNC", "Grbl 3.7 [FluidNC v3.7.8 (wifi) '$' for help]", Banner{Firmware: "FluidNC", Version: "3.7.8", Raw: "Grbl 3.7 [FluidNC v3.7.8 (wifi) '$' for help]"}},
		{"not a banner", "Grbl is great", Unknown{Line: "Grbl is great"}},
		{"grblHAL NEWOPT kept", "[NEWOPT:ENUMS,RT+,HOME,TC]", Unknown{Line: "[NEWOPT:ENUMS,RT+,HOME,TC]"}},
		{"garbage", "\x00\xff\x12", Unknown{Line: "\x00\xff\x12"}},
		{"empty", "", Unknown{Line: ""}},
		{"broken status", "<Idle|MPos:1,x>", Unknown{Line: "<Idle|MPos:1,x>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Parse(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Status
	}{
		{"idle with WCO", "<Idle|MPos:0.000,0.000,0.000|FS:0,0|WCO:0.000,0.000,0.000>", Status{
			State: StateIdle, SubState: -1, MPos: []float64{0, 0, 0}, HasMPos: true,
			WCO: []float64{0, 0, 0}, HasWCO: true}},
		{"run with Ov and A", "<Run|MPos:36.572,0.372,-1.000|FS:414,500|Ov:100,100,100|A:S>", Status{
			State: StateRun, SubState: -1, MPos: []float64{36.572, 0.372, -1}, HasMPos: true,
			Feed: 414, Speed: 500, Ov: Overrides{100, 100, 100}, HasOv: true, Acc: Accessories{SpindleCW: true}}},
		{"hold 1 with Bf", "<Hold:1|MPos:14.236,0.260,0.000|Bf:14,128|FS:300,0|Ov:100,100,100>", Status{
			State: StateHold, SubState: 1, MPos: []float64{14.236, 0.26, 0}, HasMPos: true,
			PlannerFree: 14, RXFree: 128, HasBuffer: true, Feed: 300, Ov: Overrides{100, 100, 100}, HasOv: true}},
		{"door 2", "<Door:2|MPos:38.376,0.372,-1.000|FS:414,500>", Status{
			State: StateDoor, SubState: 2, MPos: []float64{38.376, 0.372, -1}, HasMPos: true, Feed: 414, Speed: 500}},
		{"WPos", "<Run|WPos:0.328,0.000,0.000|Bf:14,128|FS:180,0>", Status{
			State: StateRun, SubState: -1, WPos: []float64{0.328, 0, 0}, HasWPos: true,
			PlannerFree: 14, RXFree: 128, HasBuffer: true, Feed: 180}},
		{"sleep", "<Sleep|MPos:19.512,0.372,-1.000|Bf:15,128|FS:0,0|WCO:0.000,0.000,0.000>", Status{
			State: StateSleep, SubState: -1, MPos: []float64{19.512, 0.372, -1}, HasMPos: true,
			PlannerFree: 15, RXFree: 128, HasBuffer: true, WCO: []float64{0, 0, 0}, HasWCO: true}},
		{"line numbers, F only, pins, all accessories", "<Run|MPos:1.000,2.000,3.000|Ln:1234|F:500|Pn:XYZPDHRS|Ov:120,50,90|A:CFM>", Status{
			State: StateRun, SubState: -1, MPos: []float64{1, 2, 3}, HasMPos: true, Line: 1234, HasLine: true,
			Feed: 500, Pins: "XYZPDHRS", Ov: Overrides{120, 50, 90}, HasOv: true,
			Acc: Accessories{SpindleCCW: true, Flood: true, Mist: true}}},
		{"grblHAL extras", "<Idle|MPos:0.000,0.000,0.000,0.000|Bf:35,1023|FS:0,0|WCS:G54|H:1,7|T:3|A:SE>", Status{
			State: StateIdle, SubState: -1, MPos: []float64{0, 0, 0, 0}, HasMPos: true,
			PlannerFree: 35, RXFree: 1023, HasBuffer: true, Acc: Accessories{SpindleCW: true, Other: "E"},
			Extra: []Field{{"WCS", "G54"}, {"H", "1,7"}, {"T", "3"}}}},
		{"FluidNC SD", "<Run|MPos:1.000,0.000,0.000|FS:100,0|SD:12.50,/sd/job.nc>", Status{
			State: StateRun, SubState: -1, MPos: []float64{1, 0, 0}, HasMPos: true, Feed: 100,
			Extra: []Field{{"SD", "12.50,/sd/job.nc"}}}},
		{"alarm", "<Alarm|MPos:0.000,0.000,0.000|FS:0,0>", Status{
			State: StateAlarm, SubState: -1, MPos: []float64{0, 0, 0}, HasMPos: true}},
		{"inches 4 decimals", "<Jog|WPos:1.2345,-0.5000,0.0001|FS:12.5,0>", Status{
			State: StateJog, SubState: -1, WPos: []float64{1.2345, -0.5, 0.0001}, HasWPos: true, Feed: 12.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatus(tt.in)
			if err != nil {
				t.Fatalf("ParseStatus(%q): %v", tt.in, err)
			}
			tt.want.Raw = tt.in
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseStatus(%q) =\n%#v\nwant\n%#v", tt.in, got, tt.want)
			}
			if m, ok := Parse(tt.in).(Status); !ok || !reflect.DeepEqual(m, got) {
				t.Errorf("Parse(%q) = %#v, want the same Status", tt.in, Parse(tt.in))
			}
		})
	}
}

func TestParseStatusErrors(t *testing.T) {
	tests := []struct {
		in, wantSub string
	}{
		{"Idle|MPos:0,0,0", "not enclosed"},
		{"<>", "empty state"},
		{"<Hold:x|MPos:0,0,0>", `field 1 "Hold:x"`},
		{"<Idle|MPos:0.000,zz,0.000>", `field 2 "MPos:0.000,zz,0.000"`},
		{"<Idle|MPos:0,0,0|Bf:15>", `field 3 "Bf:15": want 2 values`},
		{"<Idle|MPos:0,0,0|Ov:100,100>", `field 3 "Ov:100,100"`},
		{"<Idle|MPos:0,0,0|FS:1,2|Ln:q>", `field 4 "Ln:q"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseStatus(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("ParseStatus(%q) error = %v, want it to mention %q", tt.in, err, tt.wantSub)
			}
		})
	}
}

func TestMergeStatus(t *testing.T) {
	parse := func(s string) Status {
		st, err := ParseStatus(s)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	var cur Status
	steps := []struct {
		in      string
		wantW   []float64
		wantM   []float64
		wantOv  Overrides
		wantAcc Accessories
	}{
		{"<Idle|MPos:10.000,20.000,-1.000|FS:0,0|WCO:5.000,5.000,-2.000>", []float64{5, 15, 1}, []float64{10, 20, -1}, Overrides{}, Accessories{}},
		{"<Run|MPos:11.000,20.000,-1.000|FS:100,1000|Ov:100,100,100|A:SF>", []float64{6, 15, 1}, []float64{11, 20, -1}, Overrides{100, 100, 100}, Accessories{SpindleCW: true, Flood: true}},
		// Ov and A absent: both keep their last values.
		{"<Run|MPos:12.000,20.000,-1.000|FS:100,1000>", []float64{7, 15, 1}, []float64{12, 20, -1}, Overrides{100, 100, 100}, Accessories{SpindleCW: true, Flood: true}},
		// Ov present without A: everything is off.
		{"<Run|MPos:13.000,20.000,-1.000|FS:100,0|Ov:110,100,100>", []float64{8, 15, 1}, []float64{13, 20, -1}, Overrides{110, 100, 100}, Accessories{}},
		// WPos mode: MPos computed from the cached WCO.
		{"<Idle|WPos:1.000,2.000,3.000|FS:0,0>", []float64{1, 2, 3}, []float64{6, 7, 1}, Overrides{110, 100, 100}, Accessories{}},
	}
	for i, s := range steps {
		cur = merge(cur, parse(s.in))
		if !reflect.DeepEqual(cur.WPos, s.wantW) || !reflect.DeepEqual(cur.MPos, s.wantM) {
			t.Errorf("step %d: MPos %v WPos %v, want %v %v", i, cur.MPos, cur.WPos, s.wantM, s.wantW)
		}
		if cur.Ov != s.wantOv || cur.Acc != s.wantAcc {
			t.Errorf("step %d: Ov %+v Acc %+v, want %+v %+v", i, cur.Ov, cur.Acc, s.wantOv, s.wantAcc)
		}
	}
}

func TestErrorAndAlarmTexts(t *testing.T) {
	for n := 1; n <= 38; n++ {
		if n == 18 || n == 19 {
			if ErrorText(n) != "unknown error code" {
				t.Errorf("ErrorText(%d) = %q, want unknown (unused in 1.1)", n, ErrorText(n))
			}
			continue
		}
		if ErrorText(n) == "unknown error code" {
			t.Errorf("ErrorText(%d) missing", n)
		}
	}
	for n := 1; n <= 10; n++ {
		if AlarmText(n) == "unknown alarm code" {
			t.Errorf("AlarmText(%d) missing", n)
		}
	}
	e := &Error{Code: 20, Text: ErrorText(20), Line: "M6", Tag: 42}
	if got := e.Error(); !strings.Contains(got, "error:20") || !strings.Contains(got, `"M6"`) || !strings.Contains(got, "42") {
		t.Errorf("Error() = %q, want code, line and tag", got)
	}
	a := &Alarm{Code: 1, Text: AlarmText(1)}
	if !strings.Contains((&AlarmStateError{Alarm: a}).Error(), "$H") {
		t.Errorf("AlarmStateError should say how to clear the alarm")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"ok", "error:1", "ALARM:3", "<Idle|MPos:0,0,0|Bf:1,2|Ov:1,2,3|A:SF>",
		"[GC:G0 T1]", "[PRB:1,2,3:1]", "$10=3", "$N0=G21", ">G21:error:3", "Grbl 1.1h ['$' for help]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if Parse(s) == nil {
			t.Fatalf("Parse(%q) = nil", s)
		}
	})
}
