package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/cmd"
	"github.com/kerf-cnc/kerf/hardware"
)

// unit is a parsed systemd unit file: section → key → values in file order
// (systemd keys such as DeviceAllow may repeat).
type unit map[string]map[string][]string

func mustParseUnit(tb testing.TB, path string) unit {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" || strings.TrimSpace(k) != k || k == "" {
				tb.Fatalf("%s:%d: not a key=value line in a section: %q", path, n, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return u
}

// last is the value systemd uses for a single-valued key.
func (u unit) last(section, key string) string {
	vs := u[section][key]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

func TestServiceUnit(t *testing.T) {
	u := mustParseUnit(t, "kerf.service")
	want := []struct{ section, key, value string }{
		{"Service", "User", "kerf"},
		{"Service", "Group", "kerf"},
		{"Service", "ProtectSystem", "strict"},
		{"Service", "ProtectHome", "yes"},
		{"Service", "PrivateTmp", "yes"},
		{"Service", "NoNewPrivileges", "yes"},
		{"Service", "StateDirectory", "kerf"},
		{"Service", "ConfigurationDirectory", "kerf"},
		{"Service", "RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6 AF_NETLINK"},
		{"Service", "DevicePolicy", "closed"},
		{"Service", "Restart", "on-failure"},
		{"Service", "KillSignal", "SIGTERM"},
		{"Service", "Environment", "KERF_DATA=/var/lib/kerf"},
		{"Service", "ExecStart", "/usr/local/bin/kerf serve --config /etc/kerf/kerf.toml"},
		{"Install", "WantedBy", "multi-user.target"},
	}
	for _, w := range want {
		t.Run(w.key, func(t *testing.T) {
			if got := u.last(w.section, w.key); got != w.value {
				t.Errorf("[%s] %s=%q, want %q", w.section, w.key, got, w.value)
			}
		})
	}
	t.Run("SupplementaryGroups", func(t *testing.T) {
		groups := strings.Fields(u.last("Service", "SupplementaryGroups"))
		for _, g := range []string{"dialout", "gpio"} {
			if !slices.Contains(groups, g) {
				t.Errorf("SupplementaryGroups=%v lacks %s", groups, g)
			}
		}
	})
	t.Run("DeviceAllow", func(t *testing.T) {
		got := u["Service"]["DeviceAllow"]
		for _, d := range []string{"char-ttyUSB rw", "char-ttyACM rw", "char-gpiochip rw"} {
			if !slices.Contains(got, d) {
				t.Errorf("DeviceAllow=%q lacks %q", got, d)
			}
		}
	})
	t.Run("timeouts", func(t *testing.T) {
		stop, err := time.ParseDuration(u.last("Service", "TimeoutStopSec"))
		if err != nil || stop < 20*time.Second {
			t.Errorf("TimeoutStopSec=%q (%v): want ≥ 20s, room for a feed hold and a reset", u.last("Service", "TimeoutStopSec"), err)
		}
		restart, err := time.ParseDuration(u.last("Service", "RestartSec"))
		if err != nil || restart < time.Second {
			t.Errorf("RestartSec=%q (%v): want ≥ 1s, so a replugged board has time to enumerate", u.last("Service", "RestartSec"), err)
		}
	})
	t.Run("no write access beyond the state directory", func(t *testing.T) {
		for _, k := range []string{"ReadWritePaths", "PrivateDevices", "DynamicUser"} {
			if v := u.last("Service", k); v != "" {
				t.Errorf("%s=%s: the unit relies on ProtectSystem=strict with StateDirectory only (and real devices, a fixed user)", k, v)
			}
		}
	})
}

// TestServiceUnitVerifies runs systemd's own checker where it is installed.
func TestServiceUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	// verify insists that ExecStart exists: point it at a binary that does.
	data, err := os.ReadFile("kerf.service")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.Replace(string(data), "/usr/local/bin/kerf", self, 1))
	path := filepath.Join(t.TempDir(), "kerf.service")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestSysusers(t *testing.T) {
	data, err := os.ReadFile("sysusers.d/kerf.conf")
	if err != nil {
		t.Fatal(err)
	}
	var user string
	var groups []string
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "u":
			user = f[1]
		case len(f) == 3 && f[0] == "m":
			groups = append(groups, f[2])
		default:
			t.Errorf("sysusers.d/kerf.conf:%d: unexpected line %q", n+1, line)
		}
	}
	u := mustParseUnit(t, "kerf.service")
	if user != u.last("Service", "User") {
		t.Errorf("sysusers creates user %q, the unit runs as %q", user, u.last("Service", "User"))
	}
	for _, g := range strings.Fields(u.last("Service", "SupplementaryGroups")) {
		if !slices.Contains(groups, g) {
			t.Errorf("the unit needs group %s; sysusers.d/kerf.conf does not add %s to it", g, user)
		}
	}
}

// udevAssign matches one udev rule term: KEY or KEY{attr}, an operator,
// a double-quoted value.
var udevTerm = regexp.MustCompile(`^([A-Z_]+)(\{[A-Za-z_]+\})?(==|!=|\+=|-=|:=|=)"([^"]*)"$`)

func TestUdevRules(t *testing.T) {
	f, err := os.Open("udev/99-kerf.rules")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		terms := map[string]string{}
		for _, term := range strings.Split(line, ", ") {
			m := udevTerm.FindStringSubmatch(term)
			if m == nil {
				t.Fatalf("udev/99-kerf.rules:%d: malformed term %q", n, term)
			}
			terms[m[1]+m[2]+m[3]] = m[4]
		}
		for k, v := range map[string]string{`SUBSYSTEM==`: "tty", `SYMLINK+=`: "grbl", `GROUP=`: "dialout",
			`MODE=`: "0660", `ENV{ID_MM_DEVICE_IGNORE}=`: "1"} {
			if terms[k] != v {
				t.Errorf("udev/99-kerf.rules:%d: %s%q missing (have %q)", n, k, v, terms[k])
			}
		}
		vid, pid := terms["ATTRS{idVendor}=="], terms["ATTRS{idProduct}=="]
		if _, likely := hardware.IdentifyBoard(vid, pid); !likely {
			t.Errorf("udev/99-kerf.rules:%d: %s:%s is not a board `kerf ports` recognises", n, vid, pid)
		}
		seen[vid+":"+pid] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"1a86:7523", "2341:0043", "0403:6001"} {
		if !seen[id] {
			t.Errorf("no rule for %s", id)
		}
	}
}

func TestExampleConfig(t *testing.T) {
	c := cmd.DefaultConfig()
	if err := cmd.LoadConfigFile(&c, "kerf.toml"); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("kerf.toml does not validate: %v", err)
	}
	u := mustParseUnit(t, "kerf.service")
	if want := "/var/lib/" + u.last("Service", "StateDirectory"); c.DataDir != want {
		t.Errorf("data_dir = %q, want the unit's state directory %s", c.DataDir, want)
	}
	if c.Port != "/dev/grbl" || c.UseSim() {
		t.Errorf("machine.port = %q (sim %v), want the udev rule's /dev/grbl", c.Port, c.UseSim())
	}
	if c.Listen == "" {
		t.Errorf("server.listen is empty: the panel would not be reachable from the network")
	}
}

// TestExecStartMatchesServe parses the unit's ExecStart with the real
// `kerf serve` command's flags, so that a renamed or removed flag breaks this
// test rather than a Pi's next boot.
func TestExecStartMatchesServe(t *testing.T) {
	u := mustParseUnit(t, "kerf.service")
	args := strings.Fields(u.last("Service", "ExecStart"))
	if len(args) < 2 || filepath.Base(args[0]) != "kerf" {
		t.Fatalf("ExecStart=%q: want the kerf binary and a subcommand", args)
	}
	ios, _, _, _ := cmd.TestStreams()
	root := cmd.NewCmdRoot(ios)
	sub, rest, err := root.Find(args[1:])
	if err != nil || sub == root {
		t.Skipf("kerf has no %q command yet (%v)", args[1], err)
	}
	if sub.Name() != "serve" {
		t.Fatalf("ExecStart runs `kerf %s`, want `kerf serve`", sub.Name())
	}
	if err := sub.ParseFlags(rest); err != nil {
		t.Fatalf("ExecStart=%q: kerf serve rejects its flags: %v", args, err)
	}
	if got, err := sub.Flags().GetString("config"); err != nil || got != "/etc/kerf/kerf.toml" {
		t.Errorf("kerf serve --config = %q (%v), want /etc/kerf/kerf.toml, the file ConfigurationDirectory=kerf provides", got, err)
	}
}
