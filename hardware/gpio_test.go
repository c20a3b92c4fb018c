package hardware

import "testing"

func TestParseLineSpec(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    LineSpec
		wantErr string
	}{
		{in: "GPIO17", want: LineSpec{Line: "GPIO17"}},
		{in: "gpio27,active-low", want: LineSpec{Line: "gpio27", ActiveLow: true}},
		{in: "J8p11", want: LineSpec{Line: "J8p11"}},
		{in: "17", want: LineSpec{Line: "17"}},
		{in: "gpiochip4:17", want: LineSpec{Chip: "gpiochip4", Line: "17"}},
		{in: "", wantErr: "gpio line: empty"},
		{in: "GPIO99", wantErr: `gpio line "GPIO99": not a Raspberry Pi pin name (GPIO2…GPIO27, J8pN) or chip:offset`},
		{in: "GPIO17,open-drain", wantErr: `gpio line "GPIO17,open-drain": unknown option "open-drain" (known: active-low)`},
		{in: "chip0:17", wantErr: `gpio line "chip0:17": chip "chip0" is not a gpiochipN name`},
		{in: "gpiochip0:x", wantErr: `gpio line "gpiochip0:x": offset "x" is not a number`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseLineSpec(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestResolveByOffset(t *testing.T) {
	chip, off, err := LineSpec{Line: "J8p11"}.resolve()
	if err != nil || chip != "gpiochip0" || off != 17 {
		t.Fatalf("resolve(J8p11) = %s, %d, %v; want gpiochip0, 17", chip, off, err)
	}
	chip, off, err = LineSpec{Chip: "gpiochip4", Line: "22"}.resolve()
	if err != nil || chip != "gpiochip4" || off != 22 {
		t.Fatalf("resolve(gpiochip4:22) = %s, %d, %v", chip, off, err)
	}
}
