package jobs

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// cutSamples returns n samples resembling a cut reported at 5 Hz: small
// position steps, occasional changes of the slow fields.
func cutSamples(rng *rand.Rand, n int) []Sample {
	out := make([]Sample, n)
	cur := Sample{State: 1, Feed: 800, Spindle: 10000, PlannerFree: 3, RxFree: 40, Ov: [3]uint8{100, 100, 100}, Relay: 3, SourceLine: 1}
	for i := range out {
		cur.T += 200 * time.Millisecond
		for j := range cur.MPos {
			cur.MPos[j] += int32(rng.IntN(5001) - 2500)
		}
		cur.SourceLine += int32(rng.IntN(4))
		cur.RxFree = uint16(rng.IntN(128))
		if rng.IntN(20) == 0 {
			cur.Feed = int32(rng.IntN(2000))
		}
		if rng.IntN(50) == 0 {
			cur.PlannerFree = uint8(rng.IntN(16))
		}
		out[i] = cur
	}
	return out
}

// randomSamples exercises every field over its whole range.
func randomSamples(rng *rand.Rand, n int) []Sample {
	out := make([]Sample, n)
	var t time.Duration
	for i := range out {
		t += time.Duration(rng.IntN(100000)) * time.Millisecond
		out[i] = Sample{
			T:           t,
			State:       uint8(rng.Uint32()),
			MPos:        [3]int32{int32(rng.Uint32()), int32(rng.Uint32()), int32(rng.Uint32())},
			Feed:        int32(rng.Uint32()),
			Spindle:     int32(rng.Uint32()),
			PlannerFree: uint8(rng.Uint32()),
			RxFree:      uint16(rng.Uint32()),
			Ov:          [3]uint8{uint8(rng.Uint32()), uint8(rng.Uint32()), uint8(rng.Uint32())},
			Relay:       uint8(rng.Uint32()),
			SourceLine:  int32(rng.Uint32()),
		}
	}
	return out
}

func TestTelemetryRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	extremes := []Sample{
		{},
		{T: time.Hour, MPos: [3]int32{math.MaxInt32, math.MinInt32, 0}, Feed: math.MinInt32, Spindle: math.MaxInt32, RxFree: math.MaxUint16, SourceLine: math.MaxInt32},
		{T: time.Hour, MPos: [3]int32{math.MinInt32, math.MaxInt32, -1}, Feed: math.MaxInt32, Spindle: math.MinInt32, SourceLine: math.MinInt32},
	}
	tests := []struct {
		name    string
		batches [][]Sample
	}{
		{"extremes", [][]Sample{extremes}},
		{"one sample", [][]Sample{{{T: 5 * time.Millisecond, Feed: 1}}}},
		{"cut, several batches", [][]Sample{cutSamples(rand.New(rand.NewPCG(1, 2)), 300), cutSamples(rand.New(rand.NewPCG(3, 4)), 5)}},
		{"random, split into chunks", [][]Sample{randomSamples(rand.New(rand.NewPCG(5, 6)), 2*maxChunkSamples+7)}},
	}
	for seed := uint64(10); seed < 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, seed))
		tests = append(tests, struct {
			name    string
			batches [][]Sample
		}{"random seed", [][]Sample{randomSamples(rng, 1+rng.IntN(200))}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := MustOpenStore(t)
			j := MustCreateJob(t, s, "a", "G0 X1\n")
			r := MustRunInState(t, s, j.ID, StateRunning)
			var want []Sample
			for _, b := range tt.batches {
				if err := s.AppendTelemetry(ctx, r.ID, b); err != nil {
					t.Fatal(err)
				}
				want = append(want, b...)
			}
			var got []Sample
			if err := s.Telemetry(ctx, r.ID, func(smp Sample) error { got = append(got, smp); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("read %d samples, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("sample %d=%+v, want %+v", i, got[i], want[i])
				}
			}
		})
	}
}

func TestTelemetryTimeResolution(t *testing.T) {
	t.Parallel()
	b := encodeChunk(nil, []Sample{{T: 1999 * time.Microsecond}, {T: 2500 * time.Microsecond}})
	var got []time.Duration
	if err := decodeChunk(b, func(s Sample) error { got = append(got, s.T); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != time.Millisecond || got[1] != 2*time.Millisecond {
		t.Errorf("times=%v, want [1ms 2ms] (truncated to milliseconds)", got)
	}
}

func TestTelemetryManyChunksAcrossReadBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	j := MustCreateJob(t, s, "a", "G0 X1\n")
	r := MustRunInState(t, s, j.ID, StateRunning)
	n := 0
	for i := range telemetryBatch*2 + 3 {
		if err := s.AppendTelemetry(ctx, r.ID, []Sample{{T: time.Duration(i) * time.Second, SourceLine: int32(i)}}); err != nil {
			t.Fatal(err)
		}
		n++
	}
	next := int32(0)
	err := s.Telemetry(ctx, r.ID, func(smp Sample) error {
		if smp.SourceLine != next {
			t.Fatalf("sample out of order: line %d, want %d", smp.SourceLine, next)
		}
		next++
		return nil
	})
	if err != nil || int(next) != n {
		t.Errorf("read %d samples (%v), want %d", next, err, n)
	}
	stop := errors.New("enough")
	count := 0
	err = s.Telemetry(ctx, r.ID, func(Sample) error {
		count++
		if count == 70 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || count != 70 {
		t.Errorf("callback error: err=%v after %d samples, want %v after 70", err, count, stop)
	}
}

func TestTelemetryErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	j := MustCreateJob(t, s, "a", "G0 X1\n")
	r := MustRunInState(t, s, j.ID, StateRunning)
	tests := []struct {
		name    string
		run     ID
		samples []Sample
		wantIs  error
		wantMsg string
	}{
		{"unknown run", 999, []Sample{{}}, ErrNotFound, "run 00Z7: not found"},
		{"negative time", r.ID, []Sample{{T: -1}}, ErrInvalid, "sample 0: time -1ns is negative"},
		{"time goes back", r.ID, []Sample{{T: time.Second}, {T: 2 * time.Second}, {T: time.Second}}, ErrInvalid, "sample 2: time 1s is before"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.AppendTelemetry(ctx, tt.run, tt.samples)
			if !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("AppendTelemetry: err=%v, want %v mentioning %q", err, tt.wantIs, tt.wantMsg)
			}
		})
	}
	n := 0
	if err := s.Telemetry(ctx, r.ID, func(Sample) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("after failed appends: %d samples, %v; want none stored", n, err)
	}
	if err := s.AppendTelemetry(ctx, r.ID, nil); err != nil {
		t.Errorf("empty append: %v", err)
	}
}

func TestDecodeChunkDamage(t *testing.T) {
	t.Parallel()
	good := encodeChunk(nil, cutSamples(rand.New(rand.NewPCG(7, 7)), 20))
	tests := []struct {
		name    string
		chunk   []byte
		wantMsg string
	}{
		{"empty", nil, "chunk header"},
		{"future version", append([]byte{2}, good[1:]...), "unknown telemetry format version 2"},
		{"trailing bytes", append(append([]byte(nil), good...), 0), "1 bytes after the last sample"},
		{"reserved flag", []byte{1, 1, 0x80, 0, 0, 0, 0, 0}, "reserved flag"},
		{"huge count", []byte{1, 0xff, 0xff, 0x03}, "more than 1024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := decodeChunk(tt.chunk, func(Sample) error { return nil })
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err=%v, want ErrCorrupt mentioning %q", err, tt.wantMsg)
			}
		})
	}
	// Every truncation is reported, never a panic or a silent short read.
	for cut := range len(good) {
		if err := decodeChunk(good[:cut], func(Sample) error { return nil }); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated at %d of %d: err=%v, want ErrCorrupt", cut, len(good), err)
		}
	}
}

func FuzzDecodeChunk(f *testing.F) {
	f.Add(encodeChunk(nil, cutSamples(rand.New(rand.NewPCG(1, 1)), 5)))
	f.Add(encodeChunk(nil, randomSamples(rand.New(rand.NewPCG(2, 2)), 3)))
	f.Add([]byte{1, 0})
	// The most expensive chunk there is: every sample at full width.
	f.Add(encodeChunk(nil, widestSamples(maxChunkSamples)))
	f.Fuzz(func(t *testing.T, b []byte) {
		var got []Sample
		if err := decodeChunk(b, func(s Sample) error { got = append(got, s); return nil }); err != nil {
			return
		}
		// Whatever decodes must re-encode to something that decodes the same.
		var again []Sample
		if err := decodeChunk(encodeChunk(nil, got), func(s Sample) error { again = append(again, s); return nil }); err != nil {
			t.Fatalf("re-encoded chunk does not decode: %v", err)
		}
		if len(again) != len(got) {
			t.Fatalf("re-decoded %d samples, want %d", len(again), len(got))
		}
		for i := range got {
			if again[i] != got[i] {
				t.Fatalf("sample %d: %+v, want %+v", i, again[i], got[i])
			}
		}
	})
}

// widestSamples returns n samples whose every field changes by its widest
// delta, so that each takes the most bytes and decoding work there is.
func widestSamples(n int) []Sample {
	out := make([]Sample, n)
	for i := range out {
		sg := int32(1 - 2*(i%2))
		out[i] = Sample{T: time.Duration(i) * 1000 * time.Hour, State: uint8(i), MPos: [3]int32{sg * math.MaxInt32, -sg * math.MaxInt32, sg * math.MaxInt32},
			Feed: sg * math.MaxInt32, Spindle: -sg * math.MaxInt32, PlannerFree: uint8(i), RxFree: uint16(math.MaxUint16 - i),
			Ov: [3]uint8{uint8(i), uint8(i + 1), uint8(i + 2)}, Relay: uint8(i), SourceLine: sg * math.MaxInt32}
	}
	return out
}

// BenchmarkDecodeChunk compares the cost per sample of a small chunk and
// of the largest one (46 KB of full-width samples): it stays within a small
// factor (cache and machine load), nothing grows with the square of the
// input, and the largest chunk decodes in well under a millisecond — no
// input makes the decoder slow. (A fuzz run that "stops"
// is the fuzzing coordinator: workers starved of CPU show 0 execs/s, and a
// duration -fuzztime can end in a spurious "context deadline exceeded",
// golang/go#75804; use a count, e.g. -fuzztime 500000x.)
func BenchmarkDecodeChunk(b *testing.B) {
	for _, n := range []int{16, maxChunkSamples} {
		chunk := encodeChunk(nil, widestSamples(n))
		b.Run(fmt.Sprintf("samples=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(chunk)))
			for b.Loop() {
				if err := decodeChunk(chunk, func(Sample) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sample")
		})
	}
}

// BenchmarkTelemetryEncode reports the encoded size of a typical cut
// (bytes/sample) and the encoding speed.
func BenchmarkTelemetryEncode(b *testing.B) {
	samples := cutSamples(rand.New(rand.NewPCG(1, 2)), maxChunkSamples)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = encodeChunk(buf[:0], samples)
	}
	b.ReportMetric(float64(len(buf))/float64(len(samples)), "bytes/sample")
	b.ReportMetric(float64(b.N*len(samples))/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkAppendTelemetry measures appending one second of 10 Hz samples per
// call (one bbolt transaction with fsync each) and the database growth per
// sample.
func BenchmarkAppendTelemetry(b *testing.B) {
	ctx := context.Background()
	s := MustOpenStore(b)
	j := MustCreateJob(b, s, "a", "G0 X1\n")
	r := MustRunInState(b, s, j.ID, StateRunning)
	batch := cutSamples(rand.New(rand.NewPCG(9, 9)), 10)
	for b.Loop() {
		if err := s.AppendTelemetry(ctx, r.ID, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "samples/s")
	var chunkBytes, n int
	_ = s.db.Load().View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTelemetry).Bucket(r.ID.key()).ForEach(func(_, v []byte) error {
			chunkBytes += len(v)
			n++
			return nil
		})
	})
	b.ReportMetric(float64(chunkBytes)/float64(n*len(batch)), "chunk-bytes/sample")
}
