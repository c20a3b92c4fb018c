// Package sim is a GRBL 1.1h board, simulated as seen over its serial wire:
// an independent model of the firmware (it shares no code with kerf's grbl
// or gcode packages) for testing senders without a machine.
//
// What it models:
//
//   - The wire: 8N1 at Options.Baud (115200 = 11,520 B/s) in both
//     directions. Host writes never block; bytes reach the board at line
//     rate. Real-time bytes (?, !, ~, 0x18, 0x84, 0x85, 0x90–0x9E, 0xA0,
//     0xA1) act when they arrive, behind the bytes ahead of them, and never
//     enter the RX buffer; other bytes ≥ 0x80 are dropped.
//
//   - The 128-byte RX ring: bytes arriving when it is full are dropped and
//     counted in Stats.Overflows (a sender bug). The 104-byte TX buffer
//     stalls the board when the host side cannot keep up.
//
//   - protocol_main_loop's pre-filter (spaces, control characters, comments,
//     block delete, upper-casing, the 79-character limit → error:11), and
//     the parser of gcode.c with its error codes, modal state, G10/G28/G30/
//     G53/G92/G43.1, arcs in both forms, G93, inches.
//
//   - `$` commands: $, $$, $#, $G, $I, $I=, $N, $Nx=, $x=val, $C, $X, $H,
//     $J=, $RST=$/#/*, $SLP, with GRBL's state rules (error:8) and texts.
//
//   - A 15-block planner: `ok` when a line's blocks are queued (so acks are
//     late when it is full), the board's parse time per line (default 4 ms,
//     from "roughly 250 blocks/s on an Uno"), and the lines that wait for
//     the planner to drain (spindle and coolant changes, S while on, G4,
//     M0, M2/M30, G38.x, EEPROM writers, work offset changes).
//
//   - Motion: trapezoids from $110–$112 and $120–$122, GRBL's junction
//     deviation formula with backward/forward planning, arcs cut by $12,
//     feed/rapid/spindle overrides, feed hold, resume, safety door, jog and
//     jog cancel, soft reset (ALARM:3 when moving), soft limits (ALARM:2 and
//     the lock-up), homing ($22–$27), probing G38.2–G38.5 against a
//     ProbeSurface (ALARM:4/5, [PRB:…]).
//
//   - Status reports with every 1.1 field and GRBL's WCO/Ov cadence.
//
//   - The spindle pins (PWM duty from S, $30, $31 and the override;
//     direction) and flood coolant, readable with Machine.Spindle and
//     watchable with Machine.SpindleChanges.
//
//   - Faults (Options.Faults, ParseFault): Z losing steps under load, feed
//     stall, spontaneous reset, unplug/replug, error:N or ALARM:N at a given
//     line, spindle output stuck off.
//
//   - Limit switches, one per axis on its homing side (where homing finds
//     it): with $21=1 running into one stops the machine there with
//     ALARM:1 and the lock-up, a pressed switch shows in Pn and gives
//     [MSG:Check Limits] at boot. Homing is timed from $24–$27 and the
//     distance to the switches (ALARM:9 beyond 1.5 × travel).
//
// Not modelled: laser mode's output gating ($32 is stored only),
// parking, line numbers in reports (a stock build has none), EEPROM
// corruption, the door pin (the door always reads closed, so Door:1 never
// shows), XY probing (only Z contact closes the probe).
//
// # Usage
//
//	m, err := sim.New(sim.Options{Profile: "3018pro"})
//	if err != nil { … }
//	defer m.Close()
//	port, err := m.Connect() // io.ReadWriteCloser; the banner comes first
//
// or, for any serial program:
//
//	err := sim.ServePTY(ctx, "/tmp/ttyGRBL", m) // kerf sim --pty /tmp/ttyGRBL
//
// or, to know when a host may open the port, (&sim.PTY{Path: p, Machine: m,
// Ready: func(dev string) { … }}).Serve(ctx).
//
// # Time
//
// The board runs on the time package, scaled by Options.Speed (Speed 10
// makes wire, parsing and motion ten times faster). Inside a
// testing/synctest bubble the clock is synctest's virtual clock, so tests
// are fast and deterministic: everything the host end blocks on is a
// channel or a timer. The board does not wake per byte: it computes what has
// arrived by now and sleeps until the next thing that can happen (a line
// end or real-time byte arriving, a parse finishing, a block finishing when
// a line waits for it, a timer). In real time, Go timers wake about a
// millisecond late at best; the board still accounts every event at its
// exact machine time, but answers reach the host up to that late. The host
// end is handed bytes in USB-sized packets (32 bytes, or the end of a
// burst), as a CH340 or an Uno's 16U2 does, not byte by byte.
//
// # Faults
//
// z-drift adds the lost Z to the physical position only (Stats.Physical,
// probing); the step count and status reports do not see it. A stall keeps
// the state at Run with FS feed 0 while nothing moves. reset is a
// brown-out: like a DTR reset, position and parser state are lost and the
// banner is printed. unplug fails the host endpoint (reads return what had
// already arrived, then ErrUnplugged); the board runs on, and a host must
// Connect again after Replug (or after for=). spindle-stuck-off affects
// only the pin (Spindle, SpindleChanges); GRBL's own reports still claim
// the spindle runs, as they would with a dead relay.
// Machine.Inject adds a fault while the board runs, its line or time
// counted from the call (a test breaks a job already under way).
//
// # Concurrency
//
// A Machine owns one goroutine (the board), started by New and stopped and
// waited for by Close. All state sits behind one mutex that is held only
// for short computations, never while blocking. Connect, Close, Unplug,
// Replug, Stats, Spindle, Coolant and SpindleChanges may be called from any
// goroutine. The endpoint returned by Connect allows one reader and any
// number of writers at once; Write never blocks. ServePTY runs until its
// context ends and waits for the goroutines it starts (two copiers per
// open port and an inotify watcher) before returning.
package sim
