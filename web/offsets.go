package web

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/kerf-cnc/kerf/jobs"
)

// OffsetService reads and sets the board's work coordinate offsets. The
// daemon's machine supervisor implements it (through cmd's adapter).
type OffsetService interface {
	// Offsets returns the coordinate data of "$#". While the board is busy
	// (a run holds it, or it moves) it returns the values last read with
	// Fresh false. Errors: grbl.ErrDisconnected (or ErrUnavailable) without
	// a board.
	Offsets(ctx context.Context) (WorkOffsets, error)
	// ZeroAxes sets axes of a work coordinate system at the current
	// position (G10 L20) and returns the offsets read back. The request has
	// been validated. Errors: jobs.ErrBusy while a run is active;
	// grbl.ErrAlarm or grbl.ErrNotIdle when the board is not Idle; a
	// *grbl.Error when GRBL refuses the line.
	ZeroAxes(ctx context.Context, z ZeroRequest) (WorkOffsets, error)
}

// ProgramStore opens stored G-code bodies by their SHA-256 (*jobs.Store
// implements it). The caller closes the file.
type ProgramStore interface {
	// OpenBody opens the body. Errors: jobs.ErrNotFound when it is not
	// stored; jobs.ErrInvalid for a malformed hash.
	OpenBody(sha string) (*os.File, error)
}

// WorkSystems are GRBL's work coordinate systems, G54 (G10 P1) to G59 (P6).
var workSystems = [...]string{"G54", "G55", "G56", "G57", "G58", "G59"}

// maxOffsetValue bounds a ZeroRequest value (mm).
const maxOffsetValue = 10000

// WorkOffsets is the answer of GET and POST /api/v1/machine/offsets: the
// board's coordinate data from "$#", in mm.
type WorkOffsets struct {
	// Active is the work coordinate system in use (G54 to G59), from "$G";
	// empty when unknown.
	Active string `json:"active,omitempty"`
	// WCS holds the offsets of G54 to G59 (X, Y, Z), keyed by name.
	WCS map[string][]float64 `json:"wcs"`
	// G28 and G30 are the stored G28/G30 positions (machine coordinates).
	G28 []float64 `json:"g28,omitempty"`
	G30 []float64 `json:"g30,omitempty"`
	// G92 is the G92 offset.
	G92 []float64 `json:"g92,omitempty"`
	// TLO is the tool length offset (G43.1), Z only.
	TLO float64 `json:"tlo"`
	// ReadAt is when the board reported these values.
	ReadAt time.Time `json:"read_at,omitzero"`
	// Fresh is false when the values are the last ones read because the
	// board was busy (GRBL answers "$#" only when Idle or in Alarm).
	Fresh bool `json:"fresh"`
}

// ZeroRequest is the body of POST /api/v1/machine/offsets: set the named
// axes of a work coordinate system so that the current position reads the
// given value — 0 to zero it (G10 L20 P<n>).
type ZeroRequest struct {
	// WCS is "G54" to "G59"; empty means the active system.
	WCS string `json:"wcs,omitempty"`
	// X, Y and Z are the work coordinates the current position gets, in
	// mm; nil axes are left as they are.
	X *float64 `json:"x,omitempty"`
	Y *float64 `json:"y,omitempty"`
	Z *float64 `json:"z,omitempty"`
}

// Validate reports the first problem with the request, naming the field.
func (z ZeroRequest) Validate() error {
	if z.WCS != "" && !slices.Contains(workSystems[:], strings.ToUpper(z.WCS)) {
		return fmt.Errorf("work offset: field wcs: %q is not a work coordinate system (%s): %w", z.WCS, strings.Join(workSystems[:], ", "), ErrBadRequest)
	}
	if z.X == nil && z.Y == nil && z.Z == nil {
		return fmt.Errorf("work offset: fields x, y, z: at least one axis is required: %w", ErrBadRequest)
	}
	for _, a := range []struct {
		name string
		v    *float64
	}{{"x", z.X}, {"y", z.Y}, {"z", z.Z}} {
		if a.v != nil && (math.IsNaN(*a.v) || math.Abs(*a.v) > maxOffsetValue) {
			return fmt.Errorf("work offset: field %s: %v is not a coordinate within ±%d mm: %w", a.name, *a.v, maxOffsetValue, ErrBadRequest)
		}
	}
	return nil
}

func (s *Server) getOffsets(w http.ResponseWriter, r *http.Request) error {
	if s.Offsets == nil {
		return errNoService("work offset")
	}
	o, err := s.Offsets.Offsets(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

func (s *Server) zeroOffsets(w http.ResponseWriter, r *http.Request) error {
	if s.Offsets == nil {
		return errNoService("work offset")
	}
	req, err := decodeValid[ZeroRequest](w, r)
	if err != nil {
		return err
	}
	req.WCS = strings.ToUpper(req.WCS)
	o, err := s.Offsets.ZeroAxes(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

// jobGcode streams a job's stored program as text/plain. The ETag is the
// body's SHA-256, so a client that has the text already gets 304 Not
// Modified; Range requests are served too.
func (s *Server) jobGcode(w http.ResponseWriter, r *http.Request) error {
	if s.Jobs == nil {
		return errNoService("job")
	}
	if s.Programs == nil {
		return errNoService("program")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	j, err := s.Jobs.Job(r.Context(), id)
	if err != nil {
		return err
	}
	f, err := s.Programs.OpenBody(j.SHA256)
	if err != nil {
		return fmt.Errorf("job %s: program text: %w", id, err)
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("ETag", `"`+j.SHA256+`"`)
	h.Set("Cache-Control", "private, no-cache")
	h.Set("Content-Disposition", "inline; filename*=UTF-8''"+url.PathEscape(j.Name))
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", j.Created, f)
	return nil
}

// Offsets returns the board's work offsets.
func (c *Client) Offsets(ctx context.Context) (WorkOffsets, error) {
	var o WorkOffsets
	err := c.call(ctx, http.MethodGet, "/api/v1/machine/offsets", nil, nil, &o)
	return o, err
}

// ZeroAxes sets axes of a work coordinate system at the current position
// and returns the offsets read back.
func (c *Client) ZeroAxes(ctx context.Context, z ZeroRequest) (WorkOffsets, error) {
	var o WorkOffsets
	err := c.call(ctx, http.MethodPost, "/api/v1/machine/offsets", nil, z, &o)
	return o, err
}

// JobGcode copies a job's program text to w and returns the number of bytes
// written.
func (c *Client) JobGcode(ctx context.Context, id jobs.ID, w io.Writer) (int64, error) {
	resp, err := c.request(ctx, http.MethodGet, "/api/v1/jobs/"+id.String()+"/gcode", nil, nil, "")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("program of job %s: %w", id, err)
	}
	return n, nil
}
