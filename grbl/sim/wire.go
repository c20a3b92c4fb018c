package sim

import "time"

// wire is one direction of the serial link: bytes queued by the sender and
// the sim time at which each one reaches the far end. Byte i of a chunk
// arrives at chunk.first + i*byteTime. It does not wake anybody per byte:
// readers ask what has arrived by a given time and when the next byte lands.
type wire struct {
	byteTime time.Duration
	chunks   []chunk
	lastAt   time.Duration // arrival time of the last queued byte
	queued   int
	realtime int // queued bytes that are GRBL real-time commands
}

func countRealtime(p []byte) int {
	n := 0
	for _, c := range p {
		if isRealtime(c) {
			n++
		}
	}
	return n
}

type chunk struct {
	data  []byte
	first time.Duration
}

// send queues p at sim time now; the first byte arrives one byte-time after
// the later of now and the previous byte's arrival.
func (w *wire) send(now time.Duration, p []byte) {
	if len(p) == 0 {
		return
	}
	start := now
	if w.queued > 0 && w.lastAt > start {
		start = w.lastAt
	}
	first := start + w.byteTime
	n := len(w.chunks)
	if n > 0 && w.queued > 0 && first == w.lastAt+w.byteTime {
		c := &w.chunks[n-1]
		c.data = append(c.data, p...)
	} else {
		w.chunks = append(w.chunks, chunk{data: append([]byte(nil), p...), first: first})
	}
	w.lastAt = first + time.Duration(len(p)-1)*w.byteTime
	w.queued += len(p)
	w.realtime += countRealtime(p)
}

// headAt is the arrival time of the next byte; ok=false if none is queued.
func (w *wire) headAt() (time.Duration, bool) {
	if w.queued == 0 {
		return 0, false
	}
	return w.chunks[0].first, true
}

// packetAt is when the head chunk's first n bytes (or all of it, if
// shorter) have arrived: a USB-serial bridge hands bytes to the host in
// packets, not one by one.
func (w *wire) packetAt(n int) (time.Duration, bool) {
	if w.queued == 0 {
		return 0, false
	}
	c := w.chunks[0]
	if len(c.data) < n {
		n = len(c.data)
	}
	return c.first + time.Duration(n-1)*w.byteTime, true
}

// pop removes and returns the next byte and its arrival time.
func (w *wire) pop() (byte, time.Duration) {
	c := &w.chunks[0]
	b, at := c.data[0], c.first
	c.data = c.data[1:]
	c.first += w.byteTime
	if len(c.data) == 0 {
		w.chunks = w.chunks[1:]
		if len(w.chunks) == 0 {
			w.chunks = nil
		}
	}
	w.queued--
	if isRealtime(b) {
		w.realtime--
	}
	return b, at
}

// take moves every byte that has arrived by now into dst.
func (w *wire) take(now time.Duration, dst []byte) []byte {
	for w.queued > 0 {
		c := &w.chunks[0]
		if c.first > now {
			break
		}
		n := int((now-c.first)/w.byteTime) + 1
		if n > len(c.data) {
			n = len(c.data)
		}
		dst = append(dst, c.data[:n]...)
		w.realtime -= countRealtime(c.data[:n])
		c.data = c.data[n:]
		c.first += time.Duration(n) * w.byteTime
		w.queued -= n
		if len(c.data) == 0 {
			w.chunks = w.chunks[1:]
		}
	}
	if w.queued == 0 {
		w.chunks = nil
	}
	return dst
}

// nextMatch returns the arrival time of the first queued byte for which
// match is true.
func (w *wire) nextMatch(match func(byte) bool) (time.Duration, bool) {
	for _, c := range w.chunks {
		for i, b := range c.data {
			if match(b) {
				return c.first + time.Duration(i)*w.byteTime, true
			}
		}
	}
	return 0, false
}

// backlogAt is how many queued bytes have not arrived by now.
func (w *wire) backlogAt(now time.Duration) int {
	if w.queued == 0 || w.lastAt <= now {
		return 0
	}
	return int((w.lastAt - now + w.byteTime - 1) / w.byteTime)
}

func (w *wire) clear() {
	w.chunks = nil
	w.queued = 0
	w.realtime = 0
}
