package web

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/kerf-cnc/kerf/jobs"
)

// multipartOverhead is the room a multipart upload gets above MaxUpload for
// its boundaries and part headers.
const multipartOverhead = 64 << 10

// maxNameLen bounds a job name.
const maxNameLen = 200

// limitReader reads at most limit bytes and then fails with a *TooLargeError,
// remembering that it did, so the handler can answer 413 naming the limit
// whatever the service made of the error.
type limitReader struct {
	r        io.Reader
	limit    int64
	n        int64
	exceeded bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n >= l.limit {
		// Probe for one more byte: exactly limit bytes is fine.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			l.exceeded = true
			return 0, &TooLargeError{Limit: l.limit}
		}
		return 0, err
	}
	if rest := l.limit - l.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	return n, err
}

// TooLargeError reports an upload over the size limit. It matches
// jobs.ErrTooLarge.
type TooLargeError struct {
	// Limit is the limit in bytes.
	Limit int64
}

// Error names the limit.
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("upload is larger than the limit of %d bytes (%s)", e.Limit, humanBytes(e.Limit))
}

// Is reports whether target is jobs.ErrTooLarge.
func (e *TooLargeError) Is(target error) bool { return target == jobs.ErrTooLarge }

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

// addJob accepts the program as the raw body (name from ?name=) or as the
// "file" part of a multipart/form-data body (name from ?name= or the part's
// file name).
func (s *Server) addJob(w http.ResponseWriter, r *http.Request) error {
	if s.Jobs == nil {
		return errNoService("job")
	}
	limit := s.maxUpload()
	if r.ContentLength > limit+multipartOverhead {
		return &TooLargeError{Limit: limit}
	}
	name := strings.TrimSpace(r.URL.Query().Get("name"))
	noDrift, err := driftParam(r.URL.Query().Get("drift"))
	if err != nil {
		return err
	}
	if noDrift && s.Drift == nil {
		return errNoService("drift")
	}
	var body io.Reader = r.Body
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		if params["boundary"] == "" {
			return fmt.Errorf("upload: multipart body without a boundary: %w", ErrBadRequest)
		}
		mr, err := r.MultipartReader()
		if err != nil {
			return fmt.Errorf("upload: %v: %w", err, ErrBadRequest)
		}
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("upload: multipart body has no part named \"file\": %w", ErrBadRequest)
			}
			if err != nil {
				return fmt.Errorf("upload: multipart body: %v: %w", err, ErrBadRequest)
			}
			if part.FormName() != "file" {
				continue
			}
			if name == "" {
				name = path.Base(strings.ReplaceAll(part.FileName(), `\`, "/"))
				if name == "." || name == "/" {
					name = ""
				}
			}
			body = part
			break
		}
	}
	if name == "" {
		return fmt.Errorf("upload: field name: missing (give ?name= or a multipart file name): %w", ErrBadRequest)
	}
	if len(name) > maxNameLen || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("upload: field name: must be at most %d printable characters: %w", maxNameLen, ErrBadRequest)
	}
	lr := &limitReader{r: body, limit: limit}
	job, err := s.Jobs.AddJob(r.Context(), name, lr)
	if lr.exceeded {
		return &TooLargeError{Limit: limit}
	}
	if err != nil {
		return fmt.Errorf("add job %q: %w", name, err)
	}
	if noDrift {
		if job, err = s.Drift.SetJobDrift(r.Context(), job.ID, false); err != nil {
			return fmt.Errorf("add job %q: opt out of drift tracking: %w", name, err)
		}
	}
	w.Header().Set("Location", "/api/v1/jobs/"+job.ID.String())
	writeJSON(w, http.StatusCreated, job)
	return nil
}

// abortResponse ends a response whose status has already been sent, so the
// client sees a broken transfer rather than a truncated file that looks
// complete. http.ErrAbortHandler is net/http's documented way to do this;
// the server recovers it without logging a stack.
func (s *Server) abortResponse(r *http.Request, what string, err error) {
	s.logger().Error(what+" failed after the response started", logPath, r.URL.Path, logErr, err)
	panic(http.ErrAbortHandler)
}

// telemetryColumns is the CSV header of a telemetry download.
var telemetryColumns = []string{
	"t_ms", "state", "x_mm", "y_mm", "z_mm", "feed_mm_min", "spindle_rpm",
	"planner_free", "rx_free", "ov_feed", "ov_rapid", "ov_spindle", "relay", "line",
}

// TelemetrySample is one sample in a JSON telemetry download.
type TelemetrySample struct {
	TimeMS      int64      `json:"t_ms"`
	State       uint8      `json:"state"`
	MPos        [3]float64 `json:"mpos_mm"`
	Feed        int32      `json:"feed_mm_min"`
	Spindle     int32      `json:"spindle_rpm"`
	PlannerFree uint8      `json:"planner_free"`
	RxFree      uint16     `json:"rx_free"`
	Ov          [3]uint8   `json:"ov"`
	Relay       uint8      `json:"relay"`
	Line        int32      `json:"line"`
}

func sampleJSON(sm jobs.Sample) TelemetrySample {
	return TelemetrySample{
		TimeMS: sm.T.Milliseconds(), State: sm.State,
		MPos: [3]float64{float64(sm.MPos[0]) / 1000, float64(sm.MPos[1]) / 1000, float64(sm.MPos[2]) / 1000},
		Feed: sm.Feed, Spindle: sm.Spindle, PlannerFree: sm.PlannerFree, RxFree: sm.RxFree,
		Ov: sm.Ov, Relay: sm.Relay, Line: sm.SourceLine,
	}
}

// appendMM formats micrometres as millimetres with three decimals, exactly.
func appendMM(b []byte, um int32) []byte {
	v := int64(um)
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	b = strconv.AppendInt(b, v/1000, 10)
	b = append(b, '.')
	frac := v % 1000
	if frac < 100 {
		b = append(b, '0')
	}
	if frac < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, frac, 10)
}

func appendSampleCSV(b []byte, sm jobs.Sample) []byte {
	b = strconv.AppendInt(b, sm.T.Milliseconds(), 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(sm.State), 10)
	for _, p := range sm.MPos {
		b = append(b, ',')
		b = appendMM(b, p)
	}
	for _, v := range []int64{int64(sm.Feed), int64(sm.Spindle), int64(sm.PlannerFree), int64(sm.RxFree),
		int64(sm.Ov[0]), int64(sm.Ov[1]), int64(sm.Ov[2]), int64(sm.Relay), int64(sm.SourceLine)} {
		b = append(b, ',')
		b = strconv.AppendInt(b, v, 10)
	}
	return append(b, '\n')
}

func (s *Server) telemetry(w http.ResponseWriter, r *http.Request) error {
	if s.Runs == nil {
		return errNoService("run")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	switch format {
	case "":
		format = "csv"
	case "csv", "json":
	default:
		return fmt.Errorf("query parameter format: %q is not csv or json: %w", format, ErrBadRequest)
	}
	// Answer 404 before the first byte is sent.
	if _, err := s.Runs.Run(r.Context(), id); err != nil {
		return err
	}
	cw := &commitWriter{w: w, header: func() {
		if format == "csv" {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="run-%s-telemetry.csv"`, id))
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
	}}
	// Until the buffer first flushes nothing has reached the client, so a
	// failure can still be answered in the API's error shape.
	bw := bufio.NewWriterSize(cw, 32<<10)
	if format == "csv" {
		_, _ = bw.WriteString(strings.Join(telemetryColumns, ",") + "\n")
	} else {
		_ = bw.WriteByte('[')
	}
	var line []byte
	n := 0
	err = s.Runs.Telemetry(r.Context(), id, func(sm jobs.Sample) error {
		if format == "csv" {
			line = appendSampleCSV(line[:0], sm)
		} else {
			var err error
			if line, err = json.Marshal(sampleJSON(sm)); err != nil {
				return err
			}
			if n > 0 {
				_ = bw.WriteByte(',')
			}
			_ = bw.WriteByte('\n')
		}
		n++
		_, err := bw.Write(line)
		return err
	})
	if err != nil {
		if !cw.started {
			return fmt.Errorf("telemetry of run %s: %w", id, err)
		}
		s.abortResponse(r, "telemetry download", err)
	}
	if format == "json" {
		_, _ = bw.WriteString("\n]\n")
	}
	if err := bw.Flush(); err != nil {
		s.abortResponse(r, "telemetry download", err)
	}
	return nil
}

func (s *Server) backup(w http.ResponseWriter, r *http.Request) error {
	if s.Backups == nil {
		return errNoService("backup")
	}
	cw := &commitWriter{w: w, header: func() {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="kerf-backup.db"`)
	}}
	if _, err := s.Backups.Backup(r.Context(), cw); err != nil {
		if !cw.started {
			return fmt.Errorf("backup: %w", err)
		}
		s.abortResponse(r, "backup", err)
	}
	return nil
}

// commitWriter sets the response headers on the first write, so an error
// before any byte can still be answered in the API's error shape.
type commitWriter struct {
	w       io.Writer
	header  func()
	started bool
}

func (c *commitWriter) Write(p []byte) (int, error) {
	if !c.started {
		c.started = true
		c.header()
	}
	return c.w.Write(p)
}
