package canary

import (
	"encoding/json"
	"math"
	"strconv"
)

// jsonFloat writes NaN and ±Inf as null, which JSON cannot carry otherwise.
type jsonFloat float64

// MarshalJSON implements json.Marshaler.
func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

type jsonStats struct {
	Min   jsonFloat `json:"min"`
	Max   jsonFloat `json:"max"`
	Mean  jsonFloat `json:"mean"`
	Std   jsonFloat `json:"std"`
	Count int       `json:"count"`
}

type jsonMetadata struct {
	Stats jsonStats `json:"stats"`
}

type jsonResultMetadata struct {
	Ratio jsonFloat `json:"ratio"`
}

type jsonMetric struct {
	Name               string              `json:"name"`
	Groups             []string            `json:"groups"`
	Classification     Classification      `json:"classification"`
	ClassificationRsn  string              `json:"classificationReason,omitempty"`
	Critical           bool                `json:"critical"`
	Muted              bool                `json:"muted"`
	ControlMetadata    jsonMetadata        `json:"controlMetadata"`
	ExperimentMetadata jsonMetadata        `json:"experimentMetadata"`
	ResultMetadata     *jsonResultMetadata `json:"resultMetadata,omitempty"`
}

type jsonScore struct {
	Score          jsonFloat `json:"score"`
	Classification Summary   `json:"classification"`
	Reason         string    `json:"classificationReason"`
}

type jsonResult struct {
	JudgeName   string                `json:"judgeName"`
	Score       jsonScore             `json:"score"`
	GroupScores map[string]jsonFloat  `json:"groupScores"`
	Results     map[string]jsonMetric `json:"results"`
}

func statsJSON(s Stats) jsonMetadata {
	return jsonMetadata{Stats: jsonStats{Min: jsonFloat(s.Min), Max: jsonFloat(s.Max), Mean: jsonFloat(s.Mean), Std: jsonFloat(s.Std), Count: s.Count}}
}

// MarshalJSON writes Kayenta's result shape, keyed by group and metric
// name: {"judgeName", "score": {"score", "classification",
// "classificationReason"}, "groupScores": {group: score}, "results":
// {metric: {"classification", "classificationReason", "critical", "muted",
// "controlMetadata": {"stats"}, "experimentMetadata": {"stats"},
// "resultMetadata": {"ratio"}}}}. A NaN ratio is written as null; Error
// results have no resultMetadata, and a null reason is omitted.
func (r Result) MarshalJSON() ([]byte, error) {
	out := jsonResult{
		JudgeName:   JudgeName,
		Score:       jsonScore{Score: jsonFloat(r.Score), Classification: r.Classification, Reason: r.Reason},
		GroupScores: make(map[string]jsonFloat, len(r.GroupScores)),
		Results:     make(map[string]jsonMetric, len(r.Metrics)),
	}
	for _, g := range r.GroupScores {
		out.GroupScores[g.Name] = jsonFloat(g.Score)
	}
	for _, m := range r.Metrics {
		jm := jsonMetric{
			Name: m.Name, Groups: m.Groups, Classification: m.Classification, ClassificationRsn: m.Reason,
			Critical: m.Critical, Muted: m.Muted,
			ControlMetadata: statsJSON(m.ControlStats), ExperimentMetadata: statsJSON(m.ExperimentStats),
		}
		if jm.Groups == nil {
			jm.Groups = []string{}
		}
		if m.HasRatio {
			jm.ResultMetadata = &jsonResultMetadata{Ratio: jsonFloat(m.Ratio)}
		}
		out.Results[m.Name] = jm
	}
	return json.Marshal(out)
}
