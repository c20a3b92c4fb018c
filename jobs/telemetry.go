package jobs

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Sample is one telemetry point of a run, normally taken from a GRBL status
// report. Units are fixed so samples encode compactly and exactly.
type Sample struct {
	// T is the time since the run started. It is stored with millisecond
	// resolution (truncated) and must not decrease within one append.
	T time.Duration
	// State is the machine state code (the runner's enumeration).
	State uint8
	// MPos is the machine position in micrometres (X, Y, Z).
	MPos [3]int32
	// Feed is the current feed rate in mm/min.
	Feed int32
	// Spindle is the spindle speed in RPM.
	Spindle int32
	// PlannerFree is the number of free planner blocks (GRBL "Bf" first field).
	PlannerFree uint8
	// RxFree is the free serial RX buffer in bytes (GRBL "Bf" second field).
	RxFree uint16
	// Ov holds the feed, rapid and spindle overrides in percent.
	Ov [3]uint8
	// Relay holds router relay flags (the relay package defines the bits).
	Relay uint8
	// SourceLine is the source line executing at the time of the sample.
	SourceLine int32
}

// Telemetry chunk format, version 1. AppendTelemetry stores each batch as
// one or more chunks, each self-contained so it decodes on its own:
//
//	chunk  = version:byte(1) count:uvarint sample*count
//	sample = flags:byte
//	         dT:uvarint                      milliseconds since the previous sample
//	         dX dY dZ:varint                 µm, delta from the previous sample
//	         dLine:varint                    delta of SourceLine
//	         [State:byte]                    if flags&1  (changed)
//	         [OvFeed OvRapid OvSpindle:byte] if flags&2
//	         [Relay:byte]                    if flags&4
//	         [dFeed:varint]                  if flags&8
//	         [dSpindle:varint]               if flags&16
//	         [PlannerFree:byte]              if flags&32
//	         [RxFree:uvarint]                if flags&64
//
// varint is the zig-zag signed varint of encoding/binary; "previous" for a
// chunk's first sample is the zero Sample. Flag bit 128 is reserved and
// must be 0. A typical sample during a cut takes 10–14 bytes.
const telemetryVersion = 1

// maxChunkSamples bounds a chunk so decoding holds little in memory.
const maxChunkSamples = 1024

const (
	flagState = 1 << iota
	flagOv
	flagRelay
	flagFeed
	flagSpindle
	flagPlanner
	flagRx
	flagReserved
)

// encodeChunk appends the version-1 encoding of samples to dst.
func encodeChunk(dst []byte, samples []Sample) []byte {
	dst = append(dst, telemetryVersion)
	dst = binary.AppendUvarint(dst, uint64(len(samples)))
	var prev Sample
	var prevMS int64
	for _, cur := range samples {
		ms := int64(cur.T / time.Millisecond)
		var flags byte
		if cur.State != prev.State {
			flags |= flagState
		}
		if cur.Ov != prev.Ov {
			flags |= flagOv
		}
		if cur.Relay != prev.Relay {
			flags |= flagRelay
		}
		if cur.Feed != prev.Feed {
			flags |= flagFeed
		}
		if cur.Spindle != prev.Spindle {
			flags |= flagSpindle
		}
		if cur.PlannerFree != prev.PlannerFree {
			flags |= flagPlanner
		}
		if cur.RxFree != prev.RxFree {
			flags |= flagRx
		}
		dst = append(dst, flags)
		dst = binary.AppendUvarint(dst, uint64(ms-prevMS))
		for i := range cur.MPos {
			dst = binary.AppendVarint(dst, int64(cur.MPos[i])-int64(prev.MPos[i]))
		}
		dst = binary.AppendVarint(dst, int64(cur.SourceLine)-int64(prev.SourceLine))
		if flags&flagState != 0 {
			dst = append(dst, cur.State)
		}
		if flags&flagOv != 0 {
			dst = append(dst, cur.Ov[:]...)
		}
		if flags&flagRelay != 0 {
			dst = append(dst, cur.Relay)
		}
		if flags&flagFeed != 0 {
			dst = binary.AppendVarint(dst, int64(cur.Feed)-int64(prev.Feed))
		}
		if flags&flagSpindle != 0 {
			dst = binary.AppendVarint(dst, int64(cur.Spindle)-int64(prev.Spindle))
		}
		if flags&flagPlanner != 0 {
			dst = append(dst, cur.PlannerFree)
		}
		if flags&flagRx != 0 {
			dst = binary.AppendUvarint(dst, uint64(cur.RxFree))
		}
		prev, prevMS = cur, ms
	}
	return dst
}

// Decoding errors, wrapped with ErrCorrupt and the sample index.
var (
	errTruncated  = errors.New("truncated")
	errOutOfRange = errors.New("value out of range")
)

// maxMillis is the largest sample time, in milliseconds, a Duration holds.
const maxMillis = int64(math.MaxInt64 / time.Millisecond)

// chunkDecoder reads a version-1 chunk.
type chunkDecoder struct {
	b   []byte
	err error
}

func (d *chunkDecoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errTruncated
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *chunkDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errTruncated
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *chunkDecoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errTruncated
		return 0
	}
	d.b = d.b[n:]
	return v
}

// addInt32 reads a delta and applies it to v; a result outside int32 is an
// error (the encoder never produces one).
func (d *chunkDecoder) addInt32(v int32) int32 {
	sum := int64(v) + d.varint()
	if (sum < math.MinInt32 || sum > math.MaxInt32) && d.err == nil {
		d.err = errOutOfRange
	}
	return int32(sum)
}

// decodeChunk calls fn for each sample of a chunk. Errors name the sample
// index; the caller adds run and chunk.
func decodeChunk(b []byte, fn func(Sample) error) error {
	d := chunkDecoder{b: b}
	if v := d.byte(); d.err == nil && v != telemetryVersion {
		return fmt.Errorf("unknown telemetry format version %d (this kerf reads %d): %w", v, telemetryVersion, ErrCorrupt)
	}
	n := d.uvarint()
	if d.err != nil {
		return fmt.Errorf("chunk header: %w: %w", ErrCorrupt, d.err)
	}
	if n > maxChunkSamples {
		return fmt.Errorf("chunk claims %d samples, more than %d: %w", n, maxChunkSamples, ErrCorrupt)
	}
	var cur Sample
	var ms int64
	for i := range n {
		flags := d.byte()
		if flags&flagReserved != 0 {
			return fmt.Errorf("sample %d: reserved flag bit set: %w", i, ErrCorrupt)
		}
		dt := d.uvarint()
		if dt > uint64(maxMillis-ms) {
			return fmt.Errorf("sample %d: time overflows: %w", i, ErrCorrupt)
		}
		ms += int64(dt)
		cur.T = time.Duration(ms) * time.Millisecond
		for j := range cur.MPos {
			cur.MPos[j] = d.addInt32(cur.MPos[j])
		}
		cur.SourceLine = d.addInt32(cur.SourceLine)
		if flags&flagState != 0 {
			cur.State = d.byte()
		}
		if flags&flagOv != 0 {
			cur.Ov = [3]uint8{d.byte(), d.byte(), d.byte()}
		}
		if flags&flagRelay != 0 {
			cur.Relay = d.byte()
		}
		if flags&flagFeed != 0 {
			cur.Feed = d.addInt32(cur.Feed)
		}
		if flags&flagSpindle != 0 {
			cur.Spindle = d.addInt32(cur.Spindle)
		}
		if flags&flagPlanner != 0 {
			cur.PlannerFree = d.byte()
		}
		if flags&flagRx != 0 {
			rx := d.uvarint()
			if rx > math.MaxUint16 && d.err == nil {
				d.err = errOutOfRange
			}
			cur.RxFree = uint16(rx)
		}
		if d.err != nil {
			return fmt.Errorf("sample %d: %w: %w", i, ErrCorrupt, d.err)
		}
		if err := fn(cur); err != nil {
			return err
		}
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%d bytes after the last sample: %w", len(d.b), ErrCorrupt)
	}
	return nil
}

// validateSamples checks times: not negative, not decreasing.
func validateSamples(samples []Sample) error {
	for i, smp := range samples {
		if smp.T < 0 {
			return fmt.Errorf("sample %d: time %v is negative: %w", i, smp.T, ErrInvalid)
		}
		if i > 0 && smp.T < samples[i-1].T {
			return fmt.Errorf("sample %d: time %v is before the previous sample's %v: %w", i, smp.T, samples[i-1].T, ErrInvalid)
		}
	}
	return nil
}

// AppendTelemetry stores samples for a run in compact chunks (see the format
// above). Call it with batches (for example once a second), not one sample
// at a time: each call writes at least one chunk and one bbolt transaction.
// Errors: ErrNotFound for an unknown run; ErrInvalid for negative or
// decreasing sample times (naming the sample). Nothing is stored on error.
func (s *Store) AppendTelemetry(ctx context.Context, runID ID, samples []Sample) error {
	if len(samples) == 0 {
		return nil
	}
	if err := validateSamples(samples); err != nil {
		return fmt.Errorf("append telemetry to run %s: %w", runID, err)
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if _, err := getRun(tx, runID); err != nil {
			return err
		}
		b, err := tx.Bucket(bucketTelemetry).CreateBucketIfNotExists(runID.key())
		if err != nil {
			return err
		}
		for rest := samples; len(rest) > 0; {
			n := min(len(rest), maxChunkSamples)
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			// bbolt keeps the value slice until commit: each chunk has its own.
			chunk := encodeChunk(make([]byte, 0, 16*n), rest[:n])
			if err := b.Put(u64(seq), chunk); err != nil {
				return err
			}
			rest = rest[n:]
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("append telemetry to run %s: %w", runID, err)
	}
	return nil
}

// telemetryBatch is how many chunks Telemetry copies per read transaction,
// so a slow consumer never holds a transaction open (which would block the
// database from growing its memory map for writers).
const telemetryBatch = 64

// Telemetry streams a run's samples, in the order appended, to fn. An
// error from fn stops the stream and is returned as is. A run without
// samples is not an error. Errors: ErrNotFound for an unknown run;
// ErrCorrupt naming the chunk for a damaged chunk.
func (s *Store) Telemetry(ctx context.Context, runID ID, fn func(Sample) error) error {
	var after []byte
	for {
		var chunks [][]byte
		var keys [][]byte
		err := s.view(ctx, func(tx *bolt.Tx) error {
			if _, err := getRun(tx, runID); err != nil {
				return err
			}
			b := tx.Bucket(bucketTelemetry).Bucket(runID.key())
			if b == nil {
				return nil
			}
			c := b.Cursor()
			k, v := c.First()
			if after != nil {
				k, v = c.Seek(after)
				if k != nil && string(k) == string(after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && len(chunks) < telemetryBatch; k, v = c.Next() {
				keys = append(keys, append([]byte(nil), k...))
				chunks = append(chunks, append([]byte(nil), v...))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("telemetry of run %s: %w", runID, err)
		}
		for i, chunk := range chunks {
			var fnErr error
			err := decodeChunk(chunk, func(smp Sample) error {
				fnErr = fn(smp)
				return fnErr
			})
			if fnErr != nil {
				return fnErr
			}
			if err != nil {
				return fmt.Errorf("telemetry of run %s, chunk %d: %w", runID, binary.BigEndian.Uint64(keys[i]), err)
			}
		}
		if len(chunks) < telemetryBatch {
			return nil
		}
		after = keys[len(keys)-1]
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("telemetry of run %s: %w", runID, err)
		}
	}
}

// deleteTelemetry removes a run's telemetry, relay switches and drift
// checkpoints included, if any.
func deleteTelemetry(tx *bolt.Tx, runID ID) error {
	err := tx.Bucket(bucketTelemetry).DeleteBucket(runID.key())
	if err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
		return err
	}
	if err := deleteRelaySwitches(tx, runID); err != nil {
		return err
	}
	return deleteCheckpoints(tx, runID)
}
