package grbl

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Open performs the connect handshake and starts the status poller:
//
//  1. wait for the start-up banner (an Arduino resets when the port opens;
//     nothing is sent into its bootloader); if none comes within
//     BannerTimeout, provoke one with a soft reset (0x18) and wait again; if
//     still nothing GRBL-like arrived, fail with ErrNoBanner quoting the
//     bytes that were received;
//  2. "$I": version and build options (planner blocks, RX size: the
//     character-counting budget unless Options.RXBufferSize is set);
//  3. "$$" settings, "$G" modal state, "$#" offsets;
//  4. make sure $10 reports both MPos and Bf: if not, set $10=3 and
//     remember the user's value (Close restores it unless OwnSettings);
//  5. read one status report.
//
// A board in Alarm state is not an Open failure: Open succeeds, Status
// shows Alarm and AlarmError says which alarm and how to clear it.
// When Open fails, the Conn is closed.
func (c *Conn) Open(ctx context.Context) error {
	if err := c.start(); err != nil {
		return err
	}
	if err := c.handshake(ctx); err != nil {
		_ = c.Close()
		return fmt.Errorf("grbl: open: %w", err)
	}
	c.mu.Lock()
	c.opened = true
	c.recording, c.raw = false, nil
	c.mu.Unlock()
	if c.opts.PollInterval > 0 {
		c.wg.Add(1)
		go c.pollLoop()
	}
	if err := c.AlarmError(); err != nil {
		c.log.Warn("board is in alarm at connect", logKeyErr, err)
	}
	return nil
}

func (c *Conn) handshake(ctx context.Context) error {
	if err := c.awaitBanner(ctx); err != nil {
		return err
	}
	if err := c.readBuildInfo(ctx); err != nil {
		return err
	}
	for _, q := range []string{"$$", "$G", "$#"} {
		resp, err := c.handshakeCommand(ctx, q)
		if err != nil {
			return err
		}
		c.mu.Lock()
		for _, m := range resp.Lines {
			switch m := m.(type) { // the reader keeps Settings from "$$"
			case Modal:
				c.info.Modal = m
			case Offset:
				c.info.Offsets[m.Name] = m.Pos
			}
		}
		c.mu.Unlock()
	}
	if err := c.fixStatusMask(ctx); err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, c.opts.ReplyTimeout)
	defer cancel()
	if _, err := c.WaitStatus(sctx, func(Status) bool { return true }); err != nil {
		return fmt.Errorf("first status report: %w", err)
	}
	return nil
}

// handshakeCommand runs one Command under ReplyTimeout.
// A reset that crosses it (a late auto-reset banner after the provoking
// 0x18) is retried once.
func (c *Conn) handshakeCommand(ctx context.Context, line string) (Response, error) {
	for attempt := 0; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, c.opts.ReplyTimeout)
		resp, err := c.Command(cctx, line)
		cancel()
		if errors.Is(err, ErrReset) && attempt == 0 {
			c.log.Info("board reset during handshake; retrying", logKeyLine, line)
			continue
		}
		if err != nil {
			return resp, fmt.Errorf("%s: %w", line, err)
		}
		return resp, nil
	}
}

func (c *Conn) awaitBanner(ctx context.Context) error {
	for attempt := 0; attempt < 2; attempt++ {
		c.mu.Lock()
		seen, ch := c.banners > 0, c.bannerCh
		c.mu.Unlock()
		if seen {
			return nil
		}
		if attempt == 1 {
			c.log.Info("no banner, sending soft reset to provoke one")
			if err := c.Realtime(RTSoftReset); err != nil {
				return fmt.Errorf("provoke banner with soft reset: %w", err)
			}
		}
		t := time.NewTimer(c.opts.BannerTimeout)
		select {
		case <-ch:
			t.Stop()
			return nil
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("waiting for banner: %w (received so far: %s)", ctx.Err(), c.received())
		case <-c.done:
			t.Stop()
			return fmt.Errorf("waiting for banner: %w (received: %s)", c.Err(), c.received())
		}
	}
	return fmt.Errorf("%w within %v of opening nor after a soft reset (0x18); received: %s "+
		"(is this a GRBL board, at its baud rate? GRBL 1.1 uses 115200)",
		ErrNoBanner, c.opts.BannerTimeout, c.received())
}

// received describes the raw bytes seen so far, quoted.
func (c *Conn) received() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.raw) == 0 {
		return "nothing"
	}
	const show = 128
	switch {
	case len(c.raw) >= rawCap:
		return fmt.Sprintf("at least %d bytes, starting %q", len(c.raw), c.raw[:show])
	case len(c.raw) > show:
		return fmt.Sprintf("%d bytes, starting %q", len(c.raw), c.raw[:show])
	}
	return fmt.Sprintf("%d bytes %q", len(c.raw), c.raw)
}

func (c *Conn) readBuildInfo(ctx context.Context) error {
	resp, err := c.handshakeCommand(ctx, "$I")
	var ge *Error
	if errors.As(err, &ge) {
		// Some firmware forks refuse $I; carry on with the defaults.
		c.log.Warn("board refused $I; assuming GRBL 1.1 defaults", logKeyErr, err)
		return nil
	}
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range resp.Lines {
		switch m := m.(type) {
		case Version:
			c.info.Version = m
		case BuildOptions:
			c.info.Options = m
			c.info.PlannerBlocks = m.Blocks
		}
	}
	budget := DefaultRXBufferSize
	switch {
	case c.opts.RXBufferSize > 0:
		budget = c.opts.RXBufferSize
	case c.info.Options.RXBufferSize > 0:
		budget = c.info.Options.RXBufferSize
	}
	c.win.budget = budget
	c.info.RXBufferSize = budget
	return nil
}

// statusMaskWanted is $10 with bit 0 (MPos) and bit 1 (Bf) set.
const statusMaskWanted = 3

func (c *Conn) fixStatusMask(ctx context.Context) error {
	c.mu.Lock()
	v, ok := c.info.Settings[10]
	c.mu.Unlock()
	if !ok {
		c.log.Warn("board did not report $10; status reports may lack MPos or Bf")
		return nil
	}
	user := int(v)
	if user&statusMaskWanted == statusMaskWanted {
		return nil
	}
	if _, err := c.handshakeCommand(ctx, "$10="+strconv.Itoa(statusMaskWanted)); err != nil {
		return fmt.Errorf("set status report mask (user value $10=%d): %w", user, err)
	}
	c.mu.Lock()
	c.info.UserStatusMask = user
	c.info.StatusMaskChanged = true
	c.mu.Unlock()
	c.log.Info("set $10=3 so status reports carry MPos and Bf", "user_value", user)
	return nil
}
