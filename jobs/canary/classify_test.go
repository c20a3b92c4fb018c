package canary

import (
	"errors"
	"math"
	"testing"
)

func TestClassifyMetric(t *testing.T) {
	t.Parallel()
	nan := math.NaN()
	with := func(f func(*MetricConfig)) MetricConfig {
		m := NewMetricConfig("m", "g")
		f(m2p(&m))
		return m
	}
	tests := []struct {
		name         string
		cfg          MetricConfig
		control, exp []float64
		want         Classification
		wantCritical bool
		wantReason   string
		wantRatio    float64 // NaN: not checked; ignored when !wantHasRatio
		wantHasRatio bool
	}{
		{
			name: "1 vs 1 fails inside the test", cfg: with(func(m *MetricConfig) { m.Critical = true }),
			control: []float64{1}, exp: []float64{2},
			want: Error, wantReason: "Metric Classification Failed",
		},
		{
			name: "replace with no data passes", cfg: with(func(m *MetricConfig) { m.NaNStrategy, m.MustHaveData = NaNReplace, true }),
			control: nil, exp: []float64{1, 2, 3},
			want: Pass, wantRatio: 1, wantHasRatio: true,
		},
		{
			name: "replace turns an all-NaN experiment into zeros", cfg: with(func(m *MetricConfig) { m.NaNStrategy = NaNReplace }),
			control: []float64{10, 11, 12, 13, 14, 15}, exp: []float64{nan, nan, nan, nan, nan, nan},
			want: Low, wantReason: "m was classified as Low", wantRatio: nan, wantHasRatio: true,
		},
		{
			name: "remove: all-NaN experiment is Nodata", cfg: NewMetricConfig("m"),
			control: []float64{1, 2}, exp: []float64{nan},
			want: Nodata, wantReason: "Missing data for m", wantRatio: 1, wantHasRatio: true,
		},
		{
			name: "mustHaveData gives NodataFailMetric", cfg: with(func(m *MetricConfig) { m.MustHaveData = true }),
			control: []float64{}, exp: []float64{1},
			want: NodataFailMetric, wantReason: "Missing data for m", wantRatio: 1, wantHasRatio: true,
		},
		{
			name: "critical and mustHaveData give critical Nodata", cfg: with(func(m *MetricConfig) { m.MustHaveData, m.Critical = true, true }),
			control: []float64{1}, exp: nil,
			want: Nodata, wantCritical: true, wantReason: "Missing data for m", wantRatio: 1, wantHasRatio: true,
		},
		{
			name: "identical data in another order", cfg: NewMetricConfig("m"),
			control: []float64{3, 1, 2}, exp: []float64{1, 2, 3},
			want: Pass, wantReason: "The Canary and Baseline data are identical", wantRatio: 1, wantHasRatio: true,
		},
		{
			name: "direction increase ignores a drop", cfg: with(func(m *MetricConfig) { m.Direction = DirectionIncrease }),
			control: normal(1, 30, 100, 2), exp: normal(2, 30, 50, 2),
			want: Pass, wantRatio: nan, wantHasRatio: true,
		},
		{
			name: "direction decrease ignores a rise", cfg: with(func(m *MetricConfig) { m.Direction = DirectionDecrease }),
			control: normal(1, 30, 100, 2), exp: normal(2, 30, 150, 2),
			want: Pass, wantRatio: nan, wantHasRatio: true,
		},
		{
			name: "allowedIncrease vetoes a small rise", cfg: with(func(m *MetricConfig) { m.Effect.AllowedIncrease = 1.2 }),
			control: normal(1, 100, 100, 2), exp: normal(2, 100, 110, 2),
			want: Pass, wantRatio: nan, wantHasRatio: true,
		},
		{
			name: "negative means: a rise from -10 to -5 is vetoed by the ratio", cfg: NewMetricConfig("m"),
			control: normal(1, 30, -10, 0.5), exp: normal(2, 30, -5, 0.5),
			want: Pass, wantRatio: nan, wantHasRatio: true,
		},
		{
			name: "critical Low", cfg: with(func(m *MetricConfig) { m.Critical, m.Effect.CriticalDecrease = true, 0.8 }),
			control: normal(1, 30, 100, 2), exp: normal(2, 30, 70, 2),
			want: Low, wantCritical: true, wantReason: "The metric m was classified as Low (Critical)", wantRatio: nan, wantHasRatio: true,
		},
		{
			name: "critical metric, Low above the critical decrease", cfg: with(func(m *MetricConfig) { m.Critical, m.Effect.CriticalDecrease = true, 0.8 }),
			control: normal(1, 30, 100, 2), exp: normal(2, 30, 90, 2),
			want: Low, wantReason: "m was classified as Low", wantRatio: nan, wantHasRatio: true,
		},
		{
			name: "infinite sample is an Error", cfg: NewMetricConfig("m"),
			control: []float64{1, 2, 3}, exp: []float64{1, math.Inf(-1)},
			want: Error, wantReason: "Metric Classification Failed",
		},
		{
			name: "differences beyond the float64 range are an Error", cfg: NewMetricConfig("m"),
			control: []float64{-1e308, 1, 2}, exp: []float64{1e308, 5, 6},
			want: Error, wantReason: "Metric Classification Failed",
		},
		{
			name: "invalid outlier factor is an Error", cfg: with(func(m *MetricConfig) { m.Outliers = Outliers{Strategy: OutliersRemove, Factor: -1} }),
			control: []float64{1, 2, 3}, exp: []float64{4, 5, 6},
			want: Error, wantReason: "Metric Classification Failed",
		},
		{
			name: "unknown option strings fall back like Kayenta", cfg: with(func(m *MetricConfig) { m.Direction, m.NaNStrategy = "up", "drop" }),
			control: []float64{10, 11, 12, nan}, exp: []float64{1, 2, 3},
			want: Low, wantReason: "m was classified as Low", wantRatio: 2.0 / 11, wantHasRatio: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ClassifyMetric(tt.cfg, tt.control, tt.exp)
			if got.Classification != tt.want || got.Critical != tt.wantCritical || got.Reason != tt.wantReason {
				t.Errorf("got %s critical=%v reason=%q, want %s critical=%v reason=%q (err %v)",
					got.Classification, got.Critical, got.Reason, tt.want, tt.wantCritical, tt.wantReason, got.Err)
			}
			if got.HasRatio != tt.wantHasRatio {
				t.Errorf("hasRatio=%v, want %v", got.HasRatio, tt.wantHasRatio)
			}
			if tt.wantHasRatio && !math.IsNaN(tt.wantRatio) && !closeRel(got.Ratio, tt.wantRatio) {
				t.Errorf("ratio=%v, want %v", got.Ratio, tt.wantRatio)
			}
			if (got.Classification == Error) != (got.Err != nil) {
				t.Errorf("Err=%v for %s", got.Err, got.Classification)
			}
		})
	}
}

func m2p(m *MetricConfig) *MetricConfig { return m }

func TestOneVersusOneIsAllTied(t *testing.T) {
	t.Parallel()
	_, err := MannWhitneyTest([]float64{1}, []float64{2})
	if !errors.Is(err, ErrAllTied) {
		t.Fatalf("err=%v, want ErrAllTied", err)
	}
	got := ClassifyMetric(NewMetricConfig("m"), []float64{1}, []float64{2})
	if !errors.Is(got.Err, ErrAllTied) {
		t.Errorf("Err=%v, want ErrAllTied", got.Err)
	}
}

// TestWorkedExample is §8 of the spec: control 10,11,12 vs experiment
// 20,21,22.
func TestWorkedExample(t *testing.T) {
	t.Parallel()
	w := wilcoxon{xs: []float64{20, 21, 22}, ys: []float64{10, 11, 12}}
	rankSum, ties := w.rank(8)
	if rankSum != 14.5 || ties != 6 {
		t.Errorf("rank(8)=%v,%v, want 14.5,6", rankSum, ties)
	}
	f, err := w.diff(8, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := 3.5 / math.Sqrt(5.1); !closeRel(f, want) {
		t.Errorf("W(8)=%v, want %v", f, want)
	}
	mw, err := MannWhitneyTest([]float64{10, 11, 12}, []float64{20, 21, 22})
	if err != nil {
		t.Fatal(err)
	}
	if mw != (MannWhitney{Lower: 8, Upper: 12, Estimate: 10, MuMin: 8, MuMax: 12}) {
		t.Errorf("got %+v", mw)
	}
}

func TestZeroin(t *testing.T) {
	t.Parallel()
	f := func(x float64) (float64, error) { return x*x - 2, nil }
	got, err := zeroin(0, 2, -2, 2, f)
	if err != nil || math.Abs(got-math.Sqrt2) > RootTolerance {
		t.Errorf("zeroin(x²-2)=%v, %v; want √2 within 1e-4", got, err)
	}
	if got, _ := zeroin(1, 2, 0, 5, f); got != 1 {
		t.Errorf("zeroin with f(a)=0 returned %v, want a", got)
	}
	if got, _ := zeroin(1, 2, -1, 0, f); got != 2 {
		t.Errorf("zeroin with f(b)=0 returned %v, want b", got)
	}
	boom := errors.New("boom")
	if _, err := zeroin(0, 2, -2, 2, func(float64) (float64, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Errorf("err=%v, want the function's error", err)
	}
	// A step function: the root is located to within the tolerance.
	step := func(x float64) (float64, error) {
		if x < 0.3 {
			return 1, nil
		}
		return -1, nil
	}
	if got, _ := zeroin(0, 1, 1, -1, step); math.Abs(got-0.3) > RootTolerance {
		t.Errorf("step root=%v, want 0.3±1e-4", got)
	}
}

func TestPercentileR7(t *testing.T) {
	t.Parallel()
	v := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	// Values from R: quantile(1:10, p, type = 7).
	for _, tt := range []struct{ q, want float64 }{{1, 1.09}, {25, 3.25}, {50, 5.5}, {75, 7.75}, {99, 9.91}, {100, 10}} {
		if got := percentileR7(v, tt.q); !closeRel(got, tt.want) {
			t.Errorf("P%v=%v, want %v", tt.q, got, tt.want)
		}
	}
	if got := percentileR7([]float64{4}, 1); got != 4 {
		t.Errorf("P1 of one value=%v, want 4", got)
	}
}

func TestRemoveOutliers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []float64
		want int
	}{
		{"empty", nil, 0},
		{"one spike above P99 is removed", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1000}, 10},
		{"low spike is removed", []float64{-1000, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 10},
		{"values inside the P1/P99 floor stay", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 10},
		{"two spikes on one tail: only the extreme one goes", append(normal(9, 98, 10, 1), 500, 600), 99},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := removeOutliers(tt.in, 3); len(got) != tt.want {
				t.Errorf("kept %d of %d, want %d", len(got), len(tt.in), tt.want)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	got := describe([]float64{2, 4, 4, 4, 5, 5, 7, 9})
	want := Stats{Min: 2, Max: 9, Mean: 5, Std: math.Sqrt(32.0 / 7), Count: 8}
	if got.Min != want.Min || got.Max != want.Max || !closeRel(got.Mean, want.Mean) || !closeRel(got.Std, want.Std) || got.Count != 8 {
		t.Errorf("describe=%+v, want %+v", got, want)
	}
	if got := describe([]float64{3}); got != (Stats{Min: 3, Max: 3, Mean: 3, Count: 1}) {
		t.Errorf("describe one=%+v", got)
	}
	if got := describe(nil); got != (Stats{}) {
		t.Errorf("describe empty=%+v", got)
	}
}

func TestCLES(t *testing.T) {
	t.Parallel()
	// P(X > Y) + ½·P(X = Y): x={1,2,3}, y={2}: 1 win, 1 tie, 1 loss → 0.5.
	if got := cles([]float64{2}, []float64{1, 2, 3}); got != 0.5 {
		t.Errorf("cles=%v, want 0.5", got)
	}
	if got := cles([]float64{1, 2}, []float64{5, 6}); got != 1 {
		t.Errorf("cles separated=%v, want 1", got)
	}
}
