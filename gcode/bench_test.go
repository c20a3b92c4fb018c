package gcode

import (
	"bytes"
	"errors"
	"io"
	"os"
	"runtime"
	"testing"
)

func readCorpus(b *testing.B, name string) []byte {
	b.Helper()
	data, err := os.ReadFile("../testdata/corpus/open/" + name)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkCheck measures parse + check (+ wire form + estimate) throughput
// on the corpus's large files, and allocations per source line.
func BenchmarkCheck(b *testing.B) {
	for _, name := range []string{
		"camotics_tiger_3d.nc",
		"vectric_Skull_Finishing_rotary.gcode",
		"lightburn_6mm_test.nc",
		"openvoronoi_vcarve_inch.ngc",
		"cambam_Gates_combined_R12.nc",
	} {
		b.Run(name, func(b *testing.B) {
			data := readCorpus(b, name)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			var lines int
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			cpu0 := processCPU()
			for b.Loop() {
				rep, err := Check(bytes.NewReader(data), name, Options{})
				if err != nil {
					b.Fatal(err)
				}
				lines = rep.Lines
			}
			cpu := processCPU() - cpu0
			runtime.ReadMemStats(&ms1)
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(b.N)/float64(lines), "allocs/line")
			if cpu > 0 {
				// Throughput per CPU-second: stable when other processes share the cores.
				b.ReportMetric(float64(len(data))*float64(b.N)/cpu.Seconds()/1e6, "MB/cpu-s")
			}
		})
	}
}

// synthetic3D is a short-segment 3D carving program body (no errors, no
// diagnostics) repeated to build large inputs.
var synthetic3D = []byte("G1 X74.833 Y10.125 Z-19.918 F300\nG1 X74.500 Z-19.443\nG1 X74.167 Z-18.912\nG1 X73.833 Y10.250 Z-18.470\nG2 X73.500 Y10.583 I-0.333 J0.000\nG1 X73.167 Z-17.870 F250\n")

// BenchmarkCheckSize shows memory stays flat as input grows from 1 MB to
// 100 MB: B/op and peak-heap-MB must not grow with the size.
func BenchmarkCheckSize(b *testing.B) {
	head := []byte("G21 G90 G17\nM3 S10000\nG0 Z5\n")
	for _, size := range []struct {
		name  string
		bytes int
	}{{"1MB", 1 << 20}, {"10MB", 10 << 20}, {"100MB", 100 << 20}} {
		b.Run(size.name, func(b *testing.B) {
			n := size.bytes / len(synthetic3D)
			b.SetBytes(int64(len(head) + n*len(synthetic3D)))
			b.ReportAllocs()
			var peak uint64
			for b.Loop() {
				r := io.MultiReader(bytes.NewReader(head), &repeatReader{body: synthetic3D, n: n})
				rep, err := Check(r, "synthetic.nc", Options{})
				if err != nil {
					b.Fatal(err)
				}
				if rep.Errors != 0 {
					b.Fatalf("synthetic input has errors: %v", rep.Diagnostics)
				}
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak {
					peak = ms.HeapInuse
				}
			}
			b.ReportMetric(float64(peak)/(1<<20), "heap-inuse-MB")
		})
	}
}

// BenchmarkCompile measures the sender path: wire lines with the built-in
// equivalence re-check.
func BenchmarkCompile(b *testing.B) {
	data := append([]byte("G21 G90 G17\n"), bytes.Repeat(synthetic3D, 20000)...)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		c := NewCompiler(bytes.NewReader(data), "synthetic.nc", Options{})
		for {
			_, err := c.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkWireSaving reports the wire-form saving of the short-segment 3D
// files as a metric.
func BenchmarkWireSaving(b *testing.B) {
	for _, name := range []string{"camotics_tiger_3d.nc", "openvoronoi_vcarve_inch.ngc", "camotics_la_peinture_laser_raster.gc", "lightburn_6mm_test.nc"} {
		b.Run(name, func(b *testing.B) {
			data := readCorpus(b, name)
			var rep *Report
			for b.Loop() {
				var err error
				rep, err = Check(bytes.NewReader(data), name, Options{})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(100*(1-float64(rep.WireBytes)/float64(rep.Bytes)), "saved-%")
		})
	}
}
